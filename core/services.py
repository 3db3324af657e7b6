"""Writes owned by core: API tokens and heartbeats, and the one audited-update helper every app's services use."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from . import audit
from .dates import date_window
from .errors import DomainError
from .models import ApiToken, Heartbeat
from .roles import Role

NOT_EDITABLE = "This field cannot be changed here."
TOKEN_PREFIX_BYTES = 6
TOKEN_SECRET_BYTES = 32
TOKEN_USER_INACTIVE = "User {username} is inactive; an inactive user cannot hold API tokens."  # noqa: S105 - a message
LIFETIME_DAYS = (
    "A token lasts a whole number of days from 1 to {most} (its expiry stays within the dates Keel accepts), "
    "or 0: it never expires."
)
TOKEN_ALREADY_REVOKED = "Token {prefix} is already revoked."  # noqa: S105 - a message
NAMESPACE_PATTERN_INVALID = (
    "{pattern!r} is not a namespace pattern: give an OpenLineage namespace exactly (e.g. s3://lake) "
    "or a prefix ending in * (e.g. postgres://crm:5432*); * may appear only at the end."
)
MAX_NAMESPACE_PATTERN = 500  # the length of a stored namespace


def namespace_patterns(patterns: Sequence[str] | str) -> list[str]:
    """Patterns as stored: stripped, without blanks or repeats, in the order given; a bad one is refused.

    Accepts a list or one text with patterns separated by commas or new lines (the admin form, the
    command line, KEEL_LINEAGE_DEFAULT_NAMESPACES)."""
    items = patterns.replace("\n", ",").split(",") if isinstance(patterns, str) else list(patterns)
    out: list[str] = []
    for item in items:
        pattern = str(item).strip()
        if not pattern or pattern in out:
            continue
        body = pattern.removesuffix("*")
        if (
            "*" in body
            or "\x00" in pattern
            or len(pattern) > MAX_NAMESPACE_PATTERN
            or any(c.isspace() for c in pattern)
        ):
            raise DomainError(NAMESPACE_PATTERN_INVALID.format(pattern=pattern), field="lineage_namespaces")
        out.append(pattern)
    return out


@transaction.atomic
def api_token_create(
    *, user, name: str = "", days: int | None = 90, lineage_namespaces: Sequence[str] = (), by=None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its key; the key is shown once and never stored."""
    if not user.is_active:
        raise DomainError(TOKEN_USER_INACTIVE.format(username=user.get_username()))
    scopes = namespace_patterns(lineage_namespaces)
    prefix = secrets.token_hex(TOKEN_PREFIX_BYTES)
    key = f"keel_{prefix}_{secrets.token_urlsafe(TOKEN_SECRET_BYTES)}"
    # The expiry is a date like any other Keel accepts (core.dates); --days 99999999 overflowed the clock.
    most = (date_window()[1] - timezone.localdate()).days
    if days is not None and not 0 <= days <= most:
        raise DomainError(LIFETIME_DAYS.format(most=most), field="days")
    expires_at = timezone.now() + dt.timedelta(days=days) if days else None
    token = ApiToken(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=ApiToken.hash_key(key),
        expires_at=expires_at,
        lineage_namespaces=scopes,
    )
    facts = {
        "user": user.pk,
        "name": name,
        "prefix": prefix,
        "expires_at": audit.json_value(expires_at),
        "lineage_namespaces": scopes,
    }
    return model_create(instance=token, by=by, action="api_token.created", extra=facts), key


@transaction.atomic
def api_token_scope(*, token: ApiToken, lineage_namespaces: Sequence[str] | str, by=None) -> ApiToken:
    """Set the OpenLineage namespaces a token may post lineage to (an admin's act, audited)."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise DomainError(TOKEN_ALREADY_REVOKED.format(prefix=token.prefix))
    scopes = namespace_patterns(lineage_namespaces)
    token, _ = model_update(
        instance=token,
        fields=["lineage_namespaces"],
        data={"lineage_namespaces": scopes},
        by=by,
        action="api_token.scoped",
    )
    return token


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by=None) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise DomainError(TOKEN_ALREADY_REVOKED.format(prefix=token.prefix))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(
        actor=by,
        action="api_token.revoked",
        obj=token,
        before={"revoked_at": None},
        after={"revoked_at": audit.json_value(token.revoked_at)},
    )
    return token


def heartbeat_record(*, name: str, detail: str = "") -> None:
    """Operational telemetry, not a governance fact: deliberately not audited (it would flood the trail)."""
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now(), "detail": detail[:200]})


ROLE_UNKNOWN = "No role named {role!r}. The roles: {roles}."
ROLE_ALREADY_HELD = "{username} already holds the role {role}."
ROLE_NOT_HELD = "{username} does not hold the role {role}."


def role_named(name: str) -> Role:
    """A role from its name as people type it: "Risk Officer", "risk officer" or "RISK_OFFICER"."""
    wanted = name.strip().replace("_", " ").casefold()
    for role in Role:
        if wanted in (role.value.casefold(), role.name.replace("_", " ").casefold()):
            return role
    raise DomainError(ROLE_UNKNOWN.format(role=name, roles=", ".join(Role.values)), field="role")


@transaction.atomic
def user_role_grant(*, user, role: str) -> None:
    """Give `user` a role. The grant is audited by core.access_audit from the membership change itself, as
    every path to it is (the admin, a shell), with the request's user as actor, else the system."""
    role = role_named(role)
    group = Group.objects.select_for_update().get(name=role.value)
    if user.groups.filter(pk=group.pk).exists():
        raise DomainError(ROLE_ALREADY_HELD.format(username=user.get_username(), role=role.value))
    user.groups.add(group)


@transaction.atomic
def user_role_revoke(*, user, role: str) -> None:
    """Take a role from `user` (audited as user_role_grant is)."""
    role = role_named(role)
    group = Group.objects.select_for_update().get(name=role.value)
    if not user.groups.filter(pk=group.pk).exists():
        raise DomainError(ROLE_NOT_HELD.format(username=user.get_username(), role=role.value))
    user.groups.remove(group)


def user_by_username(username: str):
    User = get_user_model()
    try:
        return User.objects.get(**{User.USERNAME_FIELD: username})
    except User.DoesNotExist:
        raise DomainError(f"No user named {username!r}.") from None


def model_update(
    *, instance: models.Model, fields: Sequence[str], data: dict, by, action: str
) -> tuple[models.Model, bool]:
    """Apply `data` to `instance` and record it: the one way a service edits a row (after HackSoft's
    `model_update`). Only names in `fields` may change (others are refused before anything is set);
    the row is validated (`full_clean`) whether or not anything changed; when nothing changed nothing
    is written and nothing is audited; otherwise only the changed columns (and `auto_now` ones) are
    saved, many-to-many fields are set, and one `action` event records what changed, before and after.

    The caller locks the row (`select_for_update`) and checks permissions; returns (instance, changed).
    """
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValidationError({name: [NOT_EDITABLE] for name in unknown})
    before = audit.snapshot(instance, data)
    many = {}
    for name, value in data.items():
        if instance._meta.get_field(name).many_to_many:
            many[name] = value
        else:
            setattr(instance, name, value)
    instance.full_clean(exclude=list(many))
    after = audit.snapshot(instance, [name for name in data if name not in many])
    after |= {name: sorted(getattr(v, "pk", v) for v in value) for name, value in many.items()}
    old, new = audit.changes(before, after)
    if not new:
        return instance, False
    columns = [name for name in new if name not in many]
    if columns:
        auto_now = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
        instance.save(update_fields=[*columns, *auto_now])
    for name in many.keys() & new.keys():
        getattr(instance, name).set(many[name])
    audit.record(actor=by, action=action, obj=instance, before=old, after=new)
    return instance, True


def model_create(*, instance: models.Model, by, action: str, fields: Sequence[str] = (), extra: dict | None = None):
    """Validate, save and record a new row: the one way a service creates one. The event's `after` is
    `extra` (facts that are not the row's columns, or that omit a secret) followed by the saved row's
    `fields`."""
    instance.full_clean()
    instance.save()
    audit.record(actor=by, action=action, obj=instance, after={**(extra or {}), **audit.snapshot(instance, fields)})
    return instance


def model_delete(*, instance: models.Model, fields: Sequence[str], by, action: str) -> None:
    """Delete a row and record it: one `action` event holding the row as it was (`fields`), under the id
    it had (the row is gone, so the event names it by type and id). The caller locks the row and checks
    permissions and what still depends on it."""
    before = audit.snapshot(instance, fields)
    object_type, object_id = instance._meta.label_lower, str(instance.pk)
    instance.delete()
    audit.record(actor=by, action=action, object_type=object_type, object_id=object_id, before=before)
