"""Notifications: in-app, e-mail by preference, chat channels (Slack, Teams, signed generic JSON) against a
local HTTP receiver, retries and the delivery log, reminders and digests, and nothing sent in a request."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from governance.models import (
    AuditEvent,
    Delivery,
    Finding,
    Notification,
    NotificationChannel,
    NotificationPreference,
)
from governance.notifications import delivery, rules, services
from governance.risks.services import risk_reviews_mark_overdue
from tests.risk_factories import overdue_risk

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server on loopback that records what it is sent and answers the statuses it is told to."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _channel(receiver, kind, **kwargs):
    return services.channel_save(by=None, name=f"ops-{kind}", kind=kind, url=receiver.url,
                                 kinds=["finding_opened", "incident_opened"], **kwargs)  # fmt: skip


def _tell(users, key="k1", kind="finding_opened"):
    return services.notify(
        kind=kind, users=users, title="Model drift", body="PSI 0.4 on age.", url="/governance/findings/", key=key
    )


def test_a_slack_channel_gets_text_and_blocks_with_the_link(receiver, settings):
    settings.KEEL_BASE_URL = "https://keel.example.org"
    _channel(receiver, "slack")
    _tell([])
    (sent,) = receiver.requests
    body = json.loads(sent["body"])
    assert body["text"].startswith("Model drift\nPSI 0.4 on age.")
    assert body["blocks"][1]["elements"][0]["url"] == "https://keel.example.org/governance/findings/"
    assert Delivery.objects.get().status == "sent"


def test_a_teams_channel_gets_an_adaptive_card(receiver):
    _channel(receiver, "teams")
    _tell([])
    body = json.loads(receiver.requests[0]["body"])
    card = body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"] == "Model drift"


def test_a_generic_channel_is_signed_with_the_secret_from_the_environment(receiver, monkeypatch):
    monkeypatch.setenv("KEEL_TEST_HOOK_SECRET", "s3cret")
    _channel(receiver, "generic", secret_env="KEEL_TEST_HOOK_SECRET")
    _tell([])
    sent = receiver.requests[0]
    stamp, mac = dict(part.split("=", 1) for part in sent["headers"]["X-Keel-Signature"].split(",")).values()
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + sent["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    assert abs(int(stamp) - timezone.now().timestamp()) < 60
    assert json.loads(sent["body"])["kind"] == "finding_opened"


def test_a_missing_secret_sends_nothing_unsigned(receiver, monkeypatch):
    monkeypatch.delenv("KEEL_TEST_HOOK_SECRET", raising=False)
    _channel(receiver, "generic", secret_env="KEEL_TEST_HOOK_SECRET")
    _tell([])
    assert receiver.requests == []
    failed = Delivery.objects.get()
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "KEEL_TEST_HOOK_SECRET is not set" in failed.last_error


def test_a_failed_delivery_is_retried_with_backoff_then_given_up(receiver, settings):
    settings.KEEL_NOTIFY_MAX_ATTEMPTS = 3
    receiver.statuses = [500, 503, 502]
    _channel(receiver, "slack")
    _tell([])
    row = Delivery.objects.get()
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 1, 500)
    assert row.next_attempt_at > timezone.now()
    assert delivery.deliver_due() == {}  # not due yet: nothing sent
    for expected in ("failed", "gave_up"):
        Delivery.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
        delivery.deliver_due()
        assert Delivery.objects.get().status == expected
    assert len(receiver.requests) == 3
    Delivery.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert delivery.deliver_due() == {}  # given up: never again


def test_a_retry_that_succeeds_is_logged_as_sent(receiver):
    receiver.statuses = [500]
    _channel(receiver, "slack")
    _tell([])
    Delivery.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert delivery.deliver_due() == {"sent": 1}
    row = Delivery.objects.get()
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("sent", 2, 200, "")


def test_the_same_event_twice_tells_nobody_twice(receiver, team_lead, mailoutbox):
    _channel(receiver, "slack")
    _tell([team_lead])
    _tell([team_lead])
    assert Notification.objects.count() == 1
    assert len(receiver.requests) == 1
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(("choice", "mails"), [("immediately", 1), ("digest", 0), ("off", 0)])
def test_email_follows_the_persons_preference(team_lead, mailoutbox, choice, mails):
    services.preferences_set(user=team_lead, choices={"finding_opened": choice})
    _tell([team_lead])
    assert len(mailoutbox) == mails
    assert Notification.objects.filter(recipient=team_lead).count() == 1  # in Keel whatever the e-mail choice


def test_the_daily_digest_carries_unread_notifications_once(team_lead, mailoutbox):
    services.preferences_set(user=team_lead, choices={"finding_opened": "digest"})
    _tell([team_lead], key="a")
    _tell([team_lead], key="b")
    assert rules.send_digests() == 1
    delivery.deliver_due()
    (mail,) = mailoutbox
    assert mail.subject == "[Keel] Your Keel digest: 2 unread"
    assert rules.send_digests() == 0


def test_changing_preferences_is_audited_and_bad_choices_refused(team_lead):
    with pytest.raises(services.ValidationError):
        services.preferences_set(user=team_lead, choices={"finding_opened": "hourly"})
    assert not NotificationPreference.objects.exists()
    services.preferences_set(user=team_lead, choices={"finding_opened": "off", "reminder": "immediately"})
    event = AuditEvent.objects.get(action="notification.preferences_changed")
    assert event.after == {"finding_opened": "off"}  # "immediately" is already the default


def test_a_finding_tells_its_project_team_and_high_ones_the_risk_officers(project, team_lead, risk_officer):
    overdue_risk(project=project, title="Unfair denials", likelihood=4, impact=5)
    risk_reviews_mark_overdue()
    finding = Finding.objects.get(project=project)
    rules.finding_opened(finding.pk)
    told = set(Notification.objects.filter(key=f"finding:{finding.pk}").values_list("recipient__username", flat=True))
    assert team_lead.username in told
    assert (risk_officer.username in told) == (finding.severity in ("high", "critical"))


def test_reminders_are_sent_once_a_day(project, team_lead):
    overdue_risk(project=project, title="Unfair denials", likelihood=4, impact=5, owner=team_lead)
    risk_reviews_mark_overdue()
    Finding.objects.update(assignee=team_lead, due_at=timezone.now() - dt.timedelta(days=1))
    today = timezone.localdate()
    assert rules.send_reminders(today) == 1
    rules.send_reminders(today)
    (note,) = Notification.objects.filter(kind="reminder")
    assert "1 finding(s) assigned to you are overdue." in note.body


def test_nothing_is_sent_from_inside_a_request(
    client, settings, project, team_lead, risk_officer, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    """With the production setting, a sign-off request stores its notifications and asks the worker to send."""
    from projects.models import RiskTier
    from tests.signoff_factories import assess, linked_version

    settings.KEEL_NOTIFY_DELIVER_INLINE = False
    queued = []

    class Task:
        def __init__(self, name):
            self.name = name

        def delay(self, *args):
            queued.append((self.name, args))

    monkeypatch.setattr("core.queue.registered_task", Task)
    assess(project, RiskTier.MINIMAL, by=team_lead)
    version = linked_version(project)
    client.force_login(team_lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/signoffs/", {"model_version": version.pk, "justification": "ok"},
                               content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert mailoutbox == []
    pending = Delivery.objects.get(email=risk_officer.email)
    assert pending.status == "pending"
    assert ("governance.tasks.deliver_notifications", ([pending.pk],)) in queued


def test_pages_list_open_and_badge(client, team_lead):
    _tell([team_lead])
    note = Notification.objects.get()
    client.force_login(team_lead)
    assert "1 unread" in client.get("/governance/notifications/badge/").content.decode()
    assert "Model drift" in client.get("/governance/notifications/").content.decode()
    response = client.get(f"/governance/notifications/{note.pk}/")
    assert response["Location"] == "/governance/findings/"
    note.refresh_from_db()
    assert note.read_at is not None
    assert client.get("/governance/notifications/badge/").content.decode() == "Notifications"


def test_someone_elses_notification_is_not_found(client, team_lead, other_lead):
    _tell([team_lead])
    client.force_login(other_lead)
    assert client.get(f"/governance/notifications/{Notification.objects.get().pk}/").status_code == 404


def test_the_delivery_log_is_in_the_admin(client, admin_user, receiver):
    _channel(receiver, "slack")
    _tell([])
    client.force_login(admin_user)
    assert "Model drift" in client.get("/admin/governance/delivery/").content.decode()
    assert NotificationChannel.objects.count() == 1
    assert AuditEvent.objects.filter(action="notification_channel.created").count() == 1


def test_a_reminder_tells_reviewers_of_sign_offs_waiting_over_a_day_but_not_the_requester(
    project, team_lead, risk_officer
):
    from governance.models import SignOffRequest
    from projects.models import RiskTier
    from tests.signoff_factories import assess, linked_version, pending_request

    assess(project, RiskTier.MINIMAL, by=team_lead)
    pending_request(linked_version(project), team_lead)
    SignOffRequest.objects.update(requested_at=timezone.now() - dt.timedelta(days=2))
    rules.send_reminders(timezone.localdate())
    (note,) = Notification.objects.filter(kind="reminder")
    assert note.recipient == risk_officer
    assert "1 sign-off request(s) have waited more than a day for your role." in note.body
