"""factory_boy factories. Projects and teams are built through their services, so the audit
trail a test sees is the one the application would write."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.roles import Role
from projects.inventory import services
from projects.models import AIProject, Stage, Team

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        """A test's users hold their roles from the start, as fixtures: written to the membership table
        directly, so the audit trail a test sees starts with its own writes. Role grants themselves are
        audited (core/access_audit.py) and tested in tests/core/test_access_audit.py."""
        groups = Group.objects.filter(name__in=list(extracted or ())).exclude(user=self)
        User.groups.through.objects.bulk_create([User.groups.through(user=self, group=g) for g in groups])


def make_user(username: str | None = None, *roles: Role, **kwargs):
    params = {"roles": list(roles), **kwargs}
    if username:
        params["username"] = username
    return UserFactory(**params)


class TeamFactory(factory.Factory):
    """Creates a Team through team_create (by=None: the system)."""

    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    lead = None
    members = ()

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.team_create(by=None, **kwargs)


class AIProjectFactory(factory.Factory):
    """Creates an AIProject through project_create (by=None: the system)."""

    class Meta:
        model = AIProject

    name = factory.Sequence(lambda n: f"Project {n}")
    purpose = "Scores incoming claims for fraud."
    team = factory.SubFactory(TeamFactory)
    owner = factory.SubFactory(UserFactory)
    stage = Stage.IDEA
    expected_investment = Decimal("100000.00")
    expected_annual_value = Decimal("250000.00")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.project_create(by=None, **kwargs)
