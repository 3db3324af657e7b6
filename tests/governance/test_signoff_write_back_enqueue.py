"""The services ask for the registry write-back by task name after commit (core.queue), without
importing governance.tasks; a registry that did not opt in is never asked."""

from __future__ import annotations

from unittest import mock

import pytest

from governance import tasks
from tests.registry_factories import RegistryFactory
from tests.signoff_factories import approved_request, assess, linked_version


@pytest.mark.parametrize(("opted_in", "calls"), [(True, 1), (False, 0)])
def test_an_approval_enqueues_the_write_back_after_commit_only_for_registries_that_opted_in(
    opted_in, calls, project, team_lead, risk_officer, django_capture_on_commit_callbacks
):
    assess(project, "minimal")
    version = linked_version(project, registry=RegistryFactory(write_back_signoff=opted_in))
    with mock.patch.object(tasks.signoff_write_back, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            request = approved_request(version, team_lead, risk_officer)
        assert delay.call_count == 0  # nothing is sent before the transaction commits
        for callback in callbacks:
            callback()
    assert delay.call_args_list == [mock.call(request.pk)] * calls
