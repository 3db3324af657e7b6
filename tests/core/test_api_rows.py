"""core.api.rows builds exactly what DRF builds: for every kind of field a plan reads its own way, for the
unusual values it hands back to DRF (a missing related row, a callable, a default, a skipped key), for
fields it does not know, and for serializers it must leave to DRF altogether."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from rest_framework import serializers

from core.api.rows import list_rows, row_plan

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


class Owner:
    def __init__(self, username):
        self.username = username


class Thing:
    """A row with plain values, a related row, methods with and without arguments, and a missing relation."""

    def __init__(self, n, owner=None, when=None):
        self.pk = self.id = n
        self.name = f"thing {n}"
        self.count = str(n)  # IntegerField turns it into an int
        self.flag = n % 2 == 0
        self.amount = Decimal("12.5") * n
        self.when = when
        self.day = dt.date(2026, 1, n)
        self.tags = {"n": [n]}
        self.owner = owner
        self.labels = ["a", None, "b"]

    def shout(self):
        return self.name.upper()

    def needs_argument(self, x):
        return x

    @property
    def gone(self):
        raise ObjectDoesNotExist


class OwnerSerializer(serializers.Serializer):
    username = serializers.CharField()
    initial = serializers.SerializerMethodField()

    def get_initial(self, owner) -> str:
        return owner.username[0] + self.context.get("suffix", "")


class ContextField(serializers.Field):
    """A field the plan does not know: its output depends on the serializer's context."""

    def to_representation(self, value):
        return f"{value}@{self.context['suffix']}"


class ThingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField()
    flag = serializers.BooleanField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    when = serializers.DateTimeField()
    day = serializers.DateField()
    tags = serializers.JSONField()
    labels = serializers.ListField(child=serializers.CharField())
    shout = serializers.CharField()
    owner_name = serializers.CharField(source="owner.username", allow_null=True)
    owner_default = serializers.CharField(source="owner.username", default="nobody")
    owner_skipped = serializers.CharField(source="owner.username", read_only=True)
    owner_slug = serializers.SlugRelatedField(source="owner", slug_field="username", read_only=True)
    owner = OwnerSerializer(allow_null=True)
    gone = serializers.CharField()
    tagged = ContextField(source="name")
    described = serializers.SerializerMethodField()

    def get_described(self, thing) -> str:
        return f"{thing.name} for {self.context['suffix']}"


def rows_and_drf(serializer_class, items, **context):
    context = {"suffix": "!"} | context
    fast = list_rows(serializer_class(items, many=True, context=context))
    slow = serializer_class(items, many=True, context=context).data
    return fast, slow


def things():
    return [
        Thing(1, Owner("ada"), dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)),
        Thing(2, None, dt.datetime(2026, 7, 1, 12, 0, tzinfo=PARIS)),
        Thing(3, Owner("bob"), None),
    ]


def test_a_plan_builds_what_drf_builds_for_every_kind_of_field():
    fast, slow = rows_and_drf(ThingSerializer, things())
    assert fast == slow
    assert list(fast[0]) == list(slow[0])  # the same keys in the same order
    assert fast[1]["owner_name"] is None
    assert fast[1]["owner_default"] == "nobody"
    assert "owner_skipped" not in fast[1]  # DRF leaves a read-only key out when its source is missing
    assert fast[0]["shout"] == "THING 1"  # a method without arguments is called
    assert fast[0]["gone"] is None  # ObjectDoesNotExist reads as None
    assert fast[0]["tagged"] == "thing 1@!"
    assert fast[0]["described"] == "thing 1 for !"
    assert fast[0]["owner"] == {"username": "ada", "initial": "a!"}


@pytest.mark.parametrize("zone", [dt.UTC, PARIS])
def test_date_times_are_given_in_the_requests_time_zone_as_drf_gives_them(zone):
    with timezone.override(zone):
        fast, slow = rows_and_drf(ThingSerializer, things())
    assert fast == slow
    assert fast[0]["when"] == ("2026-03-01T12:00:00Z" if zone is dt.UTC else "2026-03-01T13:00:00+01:00")


def test_a_naive_date_time_is_left_to_drf():
    thing = Thing(1, Owner("ada"), dt.datetime(2026, 3, 1, 12, 0))  # noqa: DTZ001 -- the point of the test
    fast, slow = rows_and_drf(ThingSerializer, [thing])
    assert fast == slow


def test_a_method_that_needs_arguments_is_not_called_as_in_drf():
    class NeedsArgument(serializers.Serializer):
        needs_argument = serializers.CharField()

    thing = Thing(1)
    fast, slow = rows_and_drf(NeedsArgument, [thing])
    assert fast == slow == [{"needs_argument": str(thing.needs_argument)}]


def test_nested_lists_are_built_by_their_own_plan():
    class Team:
        def __init__(self, n):
            self.id = n
            self.members = [Owner("ada"), Owner("bob")][:n]

    class TeamSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        members = OwnerSerializer(many=True)

    fast, slow = rows_and_drf(TeamSerializer, [Team(0), Team(2)])
    assert (
        fast
        == slow
        == [
            {"id": 0, "members": []},
            {"id": 2, "members": [{"username": "ada", "initial": "a!"}, {"username": "bob", "initial": "b!"}]},
        ]
    )


def test_a_serializer_that_shapes_its_own_rows_is_left_to_drf():
    class Shaped(ThingSerializer):
        def to_representation(self, instance):
            return {"shaped": instance.name}

    assert row_plan(Shaped) is None
    fast, slow = rows_and_drf(Shaped, things())
    assert fast == slow == [{"shaped": "thing 1"}, {"shaped": "thing 2"}, {"shaped": "thing 3"}]


def test_fields_the_plan_does_not_know_go_through_drf_and_known_ones_do_not():
    kinds = {name: kind for name, kind, _, _ in row_plan(ThingSerializer).parts}
    assert kinds["tagged"] == "drf"  # ContextField reads its context: DRF's own path
    assert kinds["described"] == "method"
    assert kinds["owner"] == "one"
    assert {kinds[k] for k in ("id", "name", "when", "owner_slug", "labels", "tags")} == {"value"}


def test_a_serializer_that_cannot_be_made_without_arguments_is_left_to_drf():
    class NeedsTable(ThingSerializer):
        def __init__(self, *args, table, **kwargs):
            self.table = table
            super().__init__(*args, **kwargs)

    assert row_plan(NeedsTable) is None
