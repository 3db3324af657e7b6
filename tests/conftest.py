"""Shared fixtures: one user per persona, two teams, and a helper that makes missing services fail in CI."""

from __future__ import annotations

import os
import sys
from collections import Counter
from importlib import import_module

import pytest
from django.db import connection, connections
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from core.roles import Role
from tests.factories import AIProjectFactory, TeamFactory, make_user

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_service(available: bool, what: str) -> None:
    """Skip locally when a real service is missing; in CI (CI=true) the same absence is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but was not found", pytrace=False)
    pytest.skip(f"{what} not available (set CI=true to make this a failure)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Database-specific tests, by marker, before any fixture touches the database.

    `sqlite_only` tests skip on PostgreSQL (CI runs them in a second, SQLite pass: `make test-sqlite`);
    `postgres_only` tests need PostgreSQL the way other tests need a service (need_service).
    """
    if item.get_closest_marker("sqlite_only") and connection.vendor != "sqlite":
        pytest.skip("the SQLite variant; CI runs it in its SQLite pass (make test-sqlite)")
    if item.get_closest_marker("postgres_only"):
        need_service(connection.vendor == "postgresql", "PostgreSQL")


# Transactional tests end with a flush (DELETE on SQLite, TRUNCATE on PostgreSQL), which the audit
# table's append-only triggers refuse. `audit_triggers_lifted_for_flush` lifts them just before that
# flush (its teardown runs before pytest-django's, which flushes); the flush then sends post_migrate
# (Django documents that it does), and `_restore_after_flush` puts back what migrations made and the
# flush removed: the triggers, the role groups and the default sign-off policies.
_LIFTED_FOR_FLUSH: set[str] = set()


def _transactional(request: pytest.FixtureRequest) -> bool:
    """The rule pytest-django applies to choose a TransactionTestCase (and therefore a flush)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        args = dict(zip(("transaction", "reset_sequences"), marker.args, strict=False)) | marker.kwargs
        if args.get("transaction") or args.get("reset_sequences"):
            return True
    return bool({"transactional_db", "live_server", "django_db_reset_sequences"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def audit_triggers_lifted_for_flush(request):
    """For transactional tests only: drop the audit triggers after the test, before its flush."""
    if not _transactional(request):
        yield
        return
    # Requesting transactional_db (the test already uses it) makes this fixture's teardown run first.
    request.getfixturevalue("transactional_db")
    yield
    from governance.audit import triggers as db_triggers

    db_triggers.uninstall(connection)
    _LIFTED_FOR_FLUSH.add(connection.alias)


@receiver(post_migrate, dispatch_uid="tests.conftest.restore_after_flush")
def _restore_after_flush(sender, using, **kwargs):
    """After a test's flush: reinstall the triggers and the rows data migrations had created."""
    if sender.name != "governance" or using not in _LIFTED_FOR_FLUSH:
        return
    _LIFTED_FOR_FLUSH.discard(using)
    from django.apps import apps
    from django.contrib.auth.models import Group

    from governance.audit import triggers as db_triggers

    db_triggers.install(connections[using])
    for name in Role.values:
        Group.objects.using(using).get_or_create(name=name)
    # The default sign-off policies (governance migration 0007).
    import_module("governance.migrations.0007_signoff_policies_and_triggers").create_policies(apps, None)


def _contract_requests() -> Counter:
    contract = sys.modules.get("tests.api_contract")  # loaded only when a contract test was collected
    return Counter(getattr(contract, "REQUESTS", None) or {})


# Under pytest-xdist the fuzz runs in a worker process: each worker sends its counts back with its
# output, and the controller adds them up for the summary line.
_WORKER_REQUESTS: Counter = Counter()


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["contract_requests"] = dict(_contract_requests())


def pytest_testnodedown(node, error):
    _WORKER_REQUESTS.update(getattr(node, "workeroutput", {}).get("contract_requests", {}))


def pytest_terminal_summary(terminalreporter):
    """The requests the schema fuzz test made per caller, when it ran (issue #14's closing note reports them)."""
    made = _contract_requests() + _WORKER_REQUESTS
    if made:
        counts = ", ".join(f"{caller} {n}" for caller, n in made.items())
        terminalreporter.write_line(f"API contract fuzz: requests per caller: {counts} (total {made.total()})")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests make many users; the production hasher would spend most of the run hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def lineage_applied_inline(settings):
    """A lineage POST applies its event before answering, so API tests see the graph right after it. The
    tests of the queue, and the one with a real worker, set KEEL_LINEAGE_APPLY_INLINE back to False."""
    settings.KEEL_LINEAGE_APPLY_INLINE = True


@pytest.fixture(autouse=True)
def notifications_delivered_inline(settings):
    """Notification deliveries are sent at once in the test process (the worker sends them in production),
    so a test reads the mail outbox right after the change. Tests of the delivery itself set it back."""
    settings.KEEL_NOTIFY_DELIVER_INLINE = True


@pytest.fixture
def executive(db):
    return make_user("exec", Role.EXECUTIVE)


@pytest.fixture
def risk_officer(db):
    return make_user("risk", Role.RISK_OFFICER)


@pytest.fixture
def team_lead(db):
    return make_user("lead", Role.TEAM_LEAD)


@pytest.fixture
def other_lead(db):
    return make_user("otherlead", Role.TEAM_LEAD)


@pytest.fixture
def admin_user(db):
    return make_user("admin", Role.ADMIN, is_staff=True)


@pytest.fixture
def no_role_user(db):
    return make_user("norole")


@pytest.fixture
def team(team_lead):
    return TeamFactory(name="Claims", lead=team_lead)


@pytest.fixture
def other_team(other_lead):
    return TeamFactory(name="Marketing", lead=other_lead)


@pytest.fixture
def project(team, team_lead):
    return AIProjectFactory(name="Fraud scoring", team=team, owner=team_lead)


@pytest.fixture
def other_project(other_team, other_lead):
    return AIProjectFactory(name="Churn model", team=other_team, owner=other_lead)
