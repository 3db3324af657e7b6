"""A registry's authors are matched to Keel users as the registry says: its author mapping first (a registry
user who is a Keel user under another name), then by username, e-mail, either or neither (author_match).
The mapped account cannot approve what its registry user made; the mapping is edited in the registry's
admin page, each change audited; a duplicate or a non-admin changes nothing."""

from __future__ import annotations

import pytest

from core.errors import PermissionDeniedError
from core.roles import Role
from governance.models import AuditEvent, SignOffStatus
from governance.signoff import services as signoff
from projects.models import REGISTRY_USER_MAPPED_TWICE, AuthorMatch, RegistryAuthor
from projects.registries import services as registry_services
from projects.registries.authors import is_version_author, version_author
from tests.api_errors import invalid_input
from tests.factories import make_user
from tests.registry_factories import RegistryFactory
from tests.signoff_factories import assess, linked_version, pending_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db):
    """A risk officer whose Keel name is neither her MLflow user nor her e-mail."""
    return make_user("asmith", Role.RISK_OFFICER, email="alice.smith@example.org")


def test_a_mapped_registry_user_cannot_approve_under_their_keel_name(project, team_lead, alice):
    assess(project, "minimal")
    registry = RegistryFactory()
    registry_services.registry_author_map(by=None, registry=registry, registry_user=" Alice ", user=alice)
    request = pending_request(linked_version(project, registry=registry, created_by="alice"), team_lead)
    assert (request.version_author, request.author_unknown) == (alice, False)
    events = AuditEvent.objects.count()

    with pytest.raises(PermissionDeniedError, match="You created this model version"):
        signoff.signoff_decide(by=alice, request=request, verdict="approve")

    request.refresh_from_db()
    assert (request.status, request.decisions.count(), AuditEvent.objects.count()) == (
        SignOffStatus.PENDING, 0, events + 1,  # the refusal itself is audited
    )  # fmt: skip
    assert AuditEvent.objects.order_by("-seq").first().action == "signoff.decision_refused"


def test_a_mapping_made_after_the_request_still_keeps_the_author_out(project, team_lead, alice):
    assess(project, "minimal")
    registry = RegistryFactory()
    request = pending_request(linked_version(project, registry=registry, created_by="alice"), team_lead)
    assert request.version_author is None  # "alice" names no Keel user yet

    registry_services.registry_author_map(by=None, registry=registry, registry_user="alice", user=alice)

    with pytest.raises(PermissionDeniedError, match="You created this model version"):
        signoff.signoff_decide(by=alice, request=request, verdict="approve")
    assert request.decisions.count() == 0


@pytest.mark.parametrize(
    ("how", "created_by", "author"),
    [
        (AuthorMatch.USERNAME_OR_EMAIL, "ASMITH", "asmith"),
        (AuthorMatch.USERNAME_OR_EMAIL, "alice.smith@example.org", "asmith"),
        (AuthorMatch.USERNAME, "asmith", "asmith"),
        (AuthorMatch.USERNAME, "alice.smith@example.org", None),
        (AuthorMatch.EMAIL, "asmith", None),
        (AuthorMatch.EMAIL, "Alice.Smith@example.org", "asmith"),
        (AuthorMatch.MAPPING_ONLY, "asmith", None),
        (AuthorMatch.USERNAME_OR_EMAIL, "", None),
    ],
)
def test_author_match_decides_which_keel_attribute_names_the_author(project, alice, how, created_by, author):
    version = linked_version(project, registry=RegistryFactory(author_match=how), created_by=created_by)
    found = version_author(version)
    assert (found.username if found else None) == author
    assert is_version_author(alice, version) is (author == "asmith")


def test_the_mapping_wins_over_a_keel_user_who_merely_shares_the_name(project, alice):
    other_alice = make_user("alice", Role.RISK_OFFICER)  # a different person with that Keel username
    registry = RegistryFactory()
    registry_services.registry_author_map(by=None, registry=registry, registry_user="alice", user=alice)
    version = linked_version(project, registry=registry, created_by="alice")

    assert version_author(version) == alice
    assert (is_version_author(alice, version), is_version_author(other_alice, version)) == (True, False)


def test_a_name_that_is_one_users_username_and_anothers_email_excludes_both(project):
    first = make_user("ml@example.org", Role.RISK_OFFICER)
    second = make_user("ml", Role.RISK_OFFICER, email="ml@example.org")
    version = linked_version(project, created_by="ml@example.org")
    assert (is_version_author(first, version), is_version_author(second, version)) == (True, True)


# --- the admin page and the service's refusals -----------------------------------------------------------


def registry_form(registry, **changes) -> dict:
    return {
        "name": registry.name, "kind": registry.kind, "base_url": registry.base_url, "region": "",
        "username_env": "", "secret_env": "", "token_env": "", "enabled": "on",
        "sync_interval_seconds": str(registry.sync_interval_seconds), "author_match": registry.author_match,
        "authors-TOTAL_FORMS": "0", "authors-INITIAL_FORMS": "0", **changes,
    }  # fmt: skip


def test_the_registry_admin_edits_the_mapping_and_the_match_each_change_audited(admin_client, alice):
    registry = RegistryFactory()
    url = f"/admin/projects/registry/{registry.pk}/change/"
    start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    response = admin_client.post(
        url,
        registry_form(
            registry, author_match="email",
            **{"authors-TOTAL_FORMS": "1", "authors-0-registry_user": "alice", "authors-0-user": str(alice.pk)},
        ),
    )  # fmt: skip

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    mapping = RegistryAuthor.objects.get()
    assert (mapping.registry, mapping.registry_user, mapping.user) == (registry, "alice", alice)
    rows = list(
        AuditEvent.objects.filter(seq__gt=start).order_by("seq").values_list("action", "actor_repr", "before", "after")
    )
    assert rows == [
        ("registry.updated", "admin", {"author_match": "username_or_email"}, {"author_match": "email"}),
        (
            "registry_author.mapped",
            "admin",
            None,
            {"registry": registry.pk, "registry_user": "alice", "user": alice.pk},
        ),
    ]

    start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    registry.refresh_from_db()
    response = admin_client.post(
        url,
        registry_form(
            registry,
            **{"authors-TOTAL_FORMS": "1", "authors-INITIAL_FORMS": "1", "authors-0-id": str(mapping.pk),
               "authors-0-registry": str(registry.pk), "authors-0-registry_user": "alice",
               "authors-0-user": str(alice.pk), "authors-0-DELETE": "on"},
        ),
    )  # fmt: skip
    assert response.status_code == 302
    assert not RegistryAuthor.objects.exists()
    assert list(AuditEvent.objects.filter(seq__gt=start).values_list("action", "object_id")) == [
        ("registry_author.unmapped", str(mapping.pk))
    ]


def test_a_registry_user_mapped_twice_in_another_case_is_refused_and_changes_nothing(admin_client, alice):
    registry = RegistryFactory()
    registry_services.registry_author_map(by=None, registry=registry, registry_user="alice", user=alice)
    events, mappings = AuditEvent.objects.count(), RegistryAuthor.objects.count()

    response = admin_client.post(
        f"/admin/projects/registry/{registry.pk}/change/",
        registry_form(
            registry,
            **{"authors-TOTAL_FORMS": "2", "authors-INITIAL_FORMS": "1",
               "authors-0-id": str(RegistryAuthor.objects.get().pk), "authors-0-registry": str(registry.pk),
               "authors-0-registry_user": "alice", "authors-0-user": str(alice.pk),
               "authors-1-registry_user": "ALICE", "authors-1-user": str(alice.pk)},
        ),
    )  # fmt: skip

    assert response.status_code == 200  # the form again, with the error
    assert REGISTRY_USER_MAPPED_TWICE.format(name="ALICE") in response.content.decode().replace("&#x27;", "'")
    assert (AuditEvent.objects.count(), RegistryAuthor.objects.count()) == (events, mappings)


def test_only_an_admin_may_map_registry_users(alice, team_lead):
    registry = RegistryFactory()
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDeniedError):
        registry_services.registry_author_map(by=team_lead, registry=registry, registry_user="alice", user=alice)
    assert (AuditEvent.objects.count(), RegistryAuthor.objects.count()) == (events, 0)


def test_the_api_sets_a_registrys_author_match_audited_and_refuses_an_unknown_one(client, admin_user):
    registry = RegistryFactory()
    client.force_login(admin_user)
    url = f"/api/v1/registries/{registry.pk}/"
    events = AuditEvent.objects.count()

    refused = client.patch(url, {"author_match": "shoe_size"}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json() == invalid_input("author_match", '"shoe_size" is not a valid choice.')
    registry.refresh_from_db()
    assert (registry.author_match, AuditEvent.objects.count()) == (AuthorMatch.USERNAME_OR_EMAIL, events)

    accepted = client.patch(url, {"author_match": "mapping"}, content_type="application/json")
    assert (accepted.status_code, accepted.json()["author_match"]) == (200, "mapping")
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_repr, event.before, event.after) == (
        "registry.updated", "admin", {"author_match": "username_or_email"}, {"author_match": "mapping"},
    )  # fmt: skip
