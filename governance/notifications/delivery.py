"""Sending deliveries: e-mail through Django's mail backend, chat channels as Slack, Teams or signed JSON.

Runs in the worker. Each attempt first claims the row (a conditional update that pushes its next attempt
past a lease), so two workers never send the same message; then sends outside any transaction, and
records the outcome. A failure is retried with exponential backoff (KEEL_NOTIFY_RETRY_SECONDS × 2^n) up
to KEEL_NOTIFY_MAX_ATTEMPTS, then given up — every attempt's outcome stays in the delivery log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import time

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from ..models import ChannelKind, Delivery, DeliveryStatus

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Keel-Signature"
SECRET_MISSING = "The signing secret's environment variable {name} is not set; nothing was sent unsigned."  # noqa: S105


def absolute(url: str) -> str:
    return settings.KEEL_BASE_URL.rstrip("/") + url if url.startswith("/") else url


def payload(delivery: Delivery) -> dict:
    """The JSON a channel of this kind expects."""
    link = absolute(delivery.url) if delivery.url else ""
    kind = delivery.channel.kind
    if kind == ChannelKind.SLACK:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{delivery.subject}*\n{delivery.text}"}}]
        if link:
            blocks.append({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open in Keel"}, "url": link}]})  # fmt: skip
        return {"text": f"{delivery.subject}\n{delivery.text}" + (f"\n{link}" if link else ""), "blocks": blocks}
    if kind == ChannelKind.TEAMS:
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
            "body": [{"type": "TextBlock", "text": delivery.subject, "weight": "Bolder", "wrap": True},
                     {"type": "TextBlock", "text": delivery.text, "wrap": True}],
            "actions": [{"type": "Action.OpenUrl", "title": "Open in Keel", "url": link}] if link else [],
        }  # fmt: skip
        attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        return {"type": "message", "attachments": [attachment]}
    return {"kind": delivery.kind, "title": delivery.subject, "text": delivery.text, "url": link,
            "key": delivery.key, "delivery": delivery.pk}  # fmt: skip


def email_text(delivery: Delivery) -> str:
    link = absolute(delivery.url) if delivery.url else ""
    return delivery.text if not link or link in delivery.text else f"{delivery.text}\n\n{link}\n"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`: the receiver recomputes it and checks the
    time is recent (README, "Notifications")."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _post(delivery: Delivery) -> int:
    body = json.dumps(payload(delivery), separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Keel-notifications"}
    channel = delivery.channel
    if channel.secret_env:
        secret = os.environ.get(channel.secret_env)
        if not secret:
            raise RuntimeError(SECRET_MISSING.format(name=channel.secret_env))
        headers[SIGNATURE_HEADER] = signature(secret, int(time.time()), body)
    response = requests.post(channel.url, data=body, headers=headers, timeout=settings.KEEL_NOTIFY_TIMEOUT_SECONDS,
                             allow_redirects=False)  # fmt: skip
    if not 200 <= response.status_code < 300:
        raise DeliveryRefused(response.status_code)
    return response.status_code


class DeliveryRefused(Exception):
    def __init__(self, status_code: int):
        super().__init__(f"the receiver answered HTTP {status_code}")
        self.status_code = status_code


def _claim(pk: int, now: dt.datetime) -> Delivery | None:
    lease = now + dt.timedelta(seconds=settings.KEEL_NOTIFY_TIMEOUT_SECONDS * 3)
    due = Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED], next_attempt_at__lte=now)
    if not Delivery.objects.filter(due, pk=pk).update(next_attempt_at=lease):
        return None
    return Delivery.objects.select_related("channel").get(pk=pk)


def deliver_one(pk: int) -> str | None:
    now = timezone.now()
    delivery = _claim(pk, now)
    if delivery is None:
        return None  # sent, given up, not due yet, or another worker has it
    code = None
    try:
        if delivery.channel_id:
            if not delivery.channel or not delivery.channel.enabled:
                raise RuntimeError("the channel was disabled or removed")
            code = _post(delivery)
        else:
            send_mail(f"[Keel] {delivery.subject}", email_text(delivery), settings.DEFAULT_FROM_EMAIL,
                      [delivery.email], fail_silently=False)  # fmt: skip
    except Exception as exc:
        attempts = delivery.attempts + 1
        gave_up = attempts >= settings.KEEL_NOTIFY_MAX_ATTEMPTS
        backoff = dt.timedelta(seconds=settings.KEEL_NOTIFY_RETRY_SECONDS * 2 ** (attempts - 1))
        Delivery.objects.filter(pk=pk).update(
            attempts=attempts, status=DeliveryStatus.GAVE_UP if gave_up else DeliveryStatus.FAILED,
            last_error=str(exc)[:500], last_status_code=getattr(exc, "status_code", None),
            next_attempt_at=now + backoff,
        )  # fmt: skip
        log.warning("Delivery %s failed (attempt %s): %s", pk, attempts, exc)
        return DeliveryStatus.GAVE_UP if gave_up else DeliveryStatus.FAILED
    Delivery.objects.filter(pk=pk).update(
        attempts=delivery.attempts + 1, status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="",
        last_status_code=code,
    )  # fmt: skip
    return DeliveryStatus.SENT


def deliver(ids) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for pk in ids:
        outcome = deliver_one(pk)
        if outcome:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def deliver_due(limit: int = 500) -> dict[str, int]:
    """Beat's sweep: every delivery waiting or failed whose next attempt is due (also catches a POST whose
    task never reached the broker)."""
    due = Delivery.objects.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED], next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at", "pk")
    return deliver(list(due.values_list("pk", flat=True)[:limit]))
