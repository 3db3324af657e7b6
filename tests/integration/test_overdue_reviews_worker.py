"""The daily overdue-review task run by a real Celery worker process: enqueued twice (a doubled beat
tick), it flags each overdue risk and opens each finding once."""

from __future__ import annotations

from collections import Counter

import pytest

from governance.models import AuditEvent, Finding, Risk
from governance.tasks import mark_overdue_reviews
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.integration.conftest import wait_for
from tests.risk_factories import overdue_risk

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TASK_TIMEOUT = 60


def test_a_worker_runs_the_overdue_rule_twice_and_opens_each_finding_once(celery_procs):
    owner = make_user("owner")
    project = AIProjectFactory(team=TeamFactory(lead=owner), owner=owner)
    high = overdue_risk(project=project, title="Unfair denials", likelihood=4, impact=4)
    critical = overdue_risk(project=project, title="Leak", likelihood=5, impact=5)
    low = overdue_risk(project=project, title="Typo", likelihood=1, impact=2)
    events = AuditEvent.objects.count()
    worker = celery_procs.worker(pool="prefork")

    first, second = mark_overdue_reviews.delay(), mark_overdue_reviews.delay()

    for result in (first, second):
        wait_for(
            lambda r=result: f"governance.tasks.mark_overdue_reviews[{r.id}] succeeded" in worker.read_log(),
            timeout=TASK_TIMEOUT,
            what=f"the worker to run mark_overdue_reviews[{result.id}]",
            watch=(worker,),
        )
    assert sorted(Finding.objects.values_list("subject_id", "severity")) == sorted(
        [(str(high.pk), "high"), (str(critical.pk), "critical")]
    )
    assert set(Risk.objects.filter(review_overdue=True).values_list("pk", flat=True)) == {high.pk, critical.pk, low.pk}
    actions = Counter(AuditEvent.objects.filter(seq__gt=events).values_list("action", "task_id"))
    # Three flags and two findings, all written by one of the two runs (its task id on each event).
    assert sum(actions.values()) == 5
    assert {task_id for _, task_id in actions} <= {first.id, second.id}
    assert len({task_id for _, task_id in actions}) == 1
