"""The audit chain's state on the audit page: runs of the verification are recorded (by the management
command and by a worker an admin asks from the page), and the page says what the last one found."""

from __future__ import annotations

import datetime as dt
import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from governance import tasks
from governance.audit import verification
from governance.models import AuditEvent, AuditVerification, VerificationSource
from tests.factories import make_user


def verify_command() -> int:
    try:
        call_command("verify_audit", stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit as exc:
        return int(exc.code)
    return 0


def test_the_command_records_its_run(db, project, admin_user):
    assert verify_command() == 0
    run = AuditVerification.objects.get()
    events = AuditEvent.objects.count()
    assert (run.source, run.ok, run.events_verified, run.first_bad_seq, run.problem) == (
        "command",
        True,
        events,
        None,
        "",
    )
    assert run.started_at is not None
    assert run.finished_at >= run.started_at


def test_the_page_says_the_chain_was_never_verified_as_unknown(client, risk_officer, project):
    client.force_login(risk_officer)
    html = client.get("/governance/audit/").content.decode()
    assert '<strong class="chain-unknown">Unknown:</strong> the chain has not been verified yet' in html
    assert "Verify the chain now" not in html  # risk officers read the trail; only admins start a run


def test_the_page_shows_the_last_verification_and_the_events_since(client, risk_officer, project, admin_user):
    verify_command()
    run = AuditVerification.objects.get()
    client.force_login(admin_user)  # signing in writes nothing to the trail, so nothing is "since"
    html = client.get("/governance/audit/").content.decode()
    assert f"{run.events_verified} events verified." in html
    assert 'class="chain-ok">Intact</strong>' in html
    assert "Verify the chain now" in html


def test_an_admin_queues_a_verification_that_a_worker_runs(
    client, admin_user, project, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with (
        mock.patch.object(tasks.verify_audit_chain, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/governance/audit/verify/")
    assert response.status_code == 302
    run = AuditVerification.objects.get()
    assert (run.source, run.triggered_by, run.finished_at, run.ok) == (
        VerificationSource.WORKER,
        admin_user,
        None,
        None,
    )
    assert delay.call_args_list == [mock.call(run.pk)]
    requested = AuditEvent.objects.get(action="audit.verification_requested")
    assert (requested.actor_id, requested.object_type, requested.object_id) == (
        admin_user.pk,
        "governance.auditverification",
        str(run.pk),
    )
    # While it runs the page says so and polls for the end; a second request is refused.
    html = client.get("/governance/audit/").content.decode()
    assert "Verification running" in html
    assert 'hx-trigger="every 3s"' in html
    assert "Verify the chain now" not in html
    with pytest.raises(verification.DomainError, match="already running"):
        verification.verification_request(by=admin_user)
    # The worker's task records the result on the same run; running it again changes nothing.
    assert tasks.verify_audit_chain(run.pk) is True
    run.refresh_from_db()
    assert run.ok is True
    assert run.events_verified == AuditEvent.objects.count()
    finished = run.finished_at
    tasks.verify_audit_chain(run.pk)
    run.refresh_from_db()
    assert run.finished_at == finished
    chain = client.get("/governance/audit/chain/").content.decode()
    assert 'class="chain-ok">Intact</strong>' in chain
    assert "hx-trigger" not in chain


@pytest.mark.parametrize("role", ["Risk Officer", "Compliance Officer", "Team Lead", "Executive"])
def test_only_an_admin_may_start_a_verification_and_a_refusal_writes_nothing(client, db, role):
    client.force_login(make_user("someone", role))
    before = AuditEvent.objects.count()
    assert client.post("/governance/audit/verify/").status_code == 403
    assert AuditVerification.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_the_verify_button_takes_only_a_post_with_a_csrf_token(admin_user, project):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.get("/governance/audit/verify/").status_code == 405
    assert strict.post("/governance/audit/verify/").status_code == 403
    assert AuditVerification.objects.count() == 0


def test_a_run_whose_worker_died_is_shown_as_unknown_not_running(client, admin_user, project):
    long_ago = timezone.now() - dt.timedelta(hours=2)
    AuditVerification.objects.create(source=VerificationSource.WORKER, triggered_by=admin_user, requested_at=long_ago)
    client.force_login(admin_user)
    html = client.get("/governance/audit/").content.decode()
    assert "never finished (is a worker running?)" in html
    assert "Verification running" not in html
    assert "Verify the chain now" in html  # a dead run does not block a new one
    assert verification.verification_request(by=admin_user).pk


def test_a_run_that_fails_to_finish_is_recorded_as_unknown(db, project, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(verification, "verify_chain", boom)
    with pytest.raises(RuntimeError):
        verification.verification_run()
    run = AuditVerification.objects.get()
    assert run.ok is None
    assert run.finished_at is not None
    assert run.problem == "The verification could not finish: RuntimeError: database went away"


def test_a_failed_verification_is_shown_as_broken_with_the_first_bad_event(client, risk_officer, project, monkeypatch):
    from governance.audit.chain import VerifyResult

    monkeypatch.setattr(verification, "verify_chain", lambda **kw: VerifyResult(False, 3, 4, "row altered"))
    assert verify_command() == 1
    client.force_login(risk_officer)
    html = client.get("/governance/audit/").content.decode()
    assert 'class="chain-bad">Broken</strong>' in html
    assert "at event #4, row altered (3 events verified before it)" in html
