"""A query-count mismatch names the queries: the failure lists each measurement's SQL, numbered."""

import pytest

from core.models import Heartbeat
from tests.query_counts import assert_queries, capture_queries

pytestmark = pytest.mark.django_db


def test_a_mismatch_lists_the_sql_of_each_measurement_numbered():
    with capture_queries() as one:
        Heartbeat.objects.count()
    with capture_queries() as two:
        Heartbeat.objects.count()
        list(Heartbeat.objects.filter(name="worker"))

    with pytest.raises(AssertionError) as failure:
        assert_queries(one.count, two.count, what="/some/page/")

    message = str(failure.value)
    assert message.startswith(
        "/some/page/: the counts differ: 1, 2\nmeasurement 1 (1 queries):\n    1. SELECT COUNT(*)"
    )
    assert "measurement 2 (2 queries):\n    1. SELECT COUNT(*)" in message
    assert '\n    2. SELECT "core_heartbeat"' in message


def test_a_count_over_budget_or_off_the_expected_number_fails_and_an_equal_one_passes():
    with capture_queries() as captured:
        Heartbeat.objects.count()
    assert_queries(captured.count, captured.count, equal=1, at_most=1)
    with pytest.raises(AssertionError, match=r"^expected 2 queries\n"):
        assert_queries(captured.count, equal=2)
    with pytest.raises(AssertionError, match=r"^expected at most 0 queries\n"):
        assert_queries(captured.count, at_most=0)
