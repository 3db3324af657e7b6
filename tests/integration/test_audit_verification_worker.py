"""An admin's "Verify the chain now" on the audit page is run by a real Celery worker process, and the
page's chain-state section (the part it polls) shows the worker's result."""

from __future__ import annotations

import pytest

from governance.models import AuditEvent, AuditVerification
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_verifies_the_chain_an_admin_asked_for_on_the_page(celery_procs, client, admin_user, project):
    worker = celery_procs.worker(pool="solo")
    client.force_login(admin_user)
    assert client.post("/governance/audit/verify/").status_code == 302
    run = AuditVerification.objects.get()
    running = client.get("/governance/audit/chain/").content.decode()
    # A fast worker may be done before the page is read: then it has finished by now (read after the page).
    run.refresh_from_db()
    assert "Verification running" in running or run.finished_at is not None

    done = wait_for(
        lambda: AuditVerification.objects.filter(pk=run.pk, finished_at__isnull=False).first(),
        timeout=60,
        what="the worker to verify the audit chain",
        watch=(worker,),
    )
    assert done.ok is True
    assert done.events_verified == AuditEvent.objects.count()  # the request's own event included
    chain = client.get("/governance/audit/chain/").content.decode()
    assert 'class="chain-ok">Intact</strong>' in chain
    assert f"{done.events_verified} events verified" in chain
    assert "hx-trigger" not in chain  # the page stops polling once the run has ended
