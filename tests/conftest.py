"""Shared fixtures: one user per persona, two teams, and a helper that makes missing services fail in CI."""

from __future__ import annotations

import os

import pytest
from django.test import TransactionTestCase

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


# Transactional tests end with a flush (DELETE on SQLite), which the audit table's append-only
# triggers refuse. Lift the triggers around that flush only, and put them back afterwards.
_original_fixture_teardown = TransactionTestCase._fixture_teardown


def _fixture_teardown_keeping_triggers(self):
    from django.db import connections

    from governance.audit import triggers as db_triggers

    for alias in self._databases_names(include_mirrors=False):
        db_triggers.uninstall(connections[alias])
    try:
        _original_fixture_teardown(self)
    finally:
        for alias in self._databases_names(include_mirrors=False):
            db_triggers.install(connections[alias])
        # The flush also empties the role groups that a data migration created; put them back
        # so the next test sees the database as migrations leave it.
        from django.contrib.auth.models import Group

        from core.roles import Role

        for name in Role.values:
            Group.objects.get_or_create(name=name)
        # Likewise the default sign-off policies (governance migration 0007).
        from importlib import import_module

        from django.apps import apps

        import_module("governance.migrations.0007_signoff_policies_and_triggers").create_policies(apps, None)


TransactionTestCase._fixture_teardown = _fixture_teardown_keeping_triggers


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests make many users; the production hasher would spend most of the run hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
