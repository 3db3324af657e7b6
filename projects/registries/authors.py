"""Who in Keel authored a model version: the registry's name for its author (ModelVersion.created_by: MLflow's
version or run user, SageMaker's CreatedBy) matched to a Keel user, for separation of duties.

One rule, read by sign-off when a request is made (who is excluded as the author) and again at each
decision (a mapping added since then still counts): the registry's author mapping first (an explicit
"this registry user is that Keel user"), then the registry's `author_match` (Keel username, e-mail,
either, or none). Names are compared without regard to case or surrounding blanks. An empty name is an
unknown author, which sign-off answers with one more approver.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q

from ..models import AuthorMatch, ModelVersion, RegistryAuthor


def _name(version: ModelVersion) -> str:
    return (version.created_by or "").strip()


def _attribute_match(name: str, how: str) -> Q | None:
    """The users the registry's `author_match` says `name` is."""
    by_username, by_email = Q(username__iexact=name), Q(email__iexact=name)
    return {
        AuthorMatch.USERNAME_OR_EMAIL: by_username | by_email,
        AuthorMatch.USERNAME: by_username,
        AuthorMatch.EMAIL: by_email,
    }.get(how)


def _mapped(name: str, version: ModelVersion):
    """The Keel user the registry's author mapping names for `name`, or None."""
    mapping = (
        RegistryAuthor.objects.filter(registry_id=version.registered_model.registry_id, registry_user__iexact=name)
        .select_related("user")
        .first()
    )
    return mapping.user if mapping is not None else None


def version_author(version: ModelVersion):
    """The Keel user who authored `version`, or None (unknown, or matched to nobody)."""
    name = _name(version)
    if not name:
        return None
    if (mapped := _mapped(name, version)) is not None:
        return mapped
    match = _attribute_match(name, version.registered_model.registry.author_match)
    if match is None:
        return None
    # Ties (one user's username is another's e-mail) go to the oldest account; is_version_author still
    # refuses both.
    return get_user_model().objects.filter(match).order_by("pk").first()


def is_version_author(user, version: ModelVersion) -> bool:
    """Whether the registry names `user` as `version`'s author, by the rule above (every user the name
    matches, when it matches more than one)."""
    name = _name(version)
    if not name or user is None or user.pk is None:
        return False
    if (mapped := _mapped(name, version)) is not None:
        return mapped.pk == user.pk
    match = _attribute_match(name, version.registered_model.registry.author_match)
    return match is not None and get_user_model().objects.filter(match, pk=user.pk).exists()
