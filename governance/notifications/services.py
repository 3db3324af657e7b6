"""Writing notifications and the deliveries they need, in the caller's transaction.

`notify` is the one way anything tells people: it records an in-app notification per recipient (once per
recipient and key, so a rule that runs twice tells nobody twice), an e-mail delivery for those who want
each one by e-mail, and a delivery per enabled channel that subscribes to the kind. The deliveries are
sent by the worker once the transaction commits (governance.tasks.deliver_notifications).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import audit
from core.queue import enqueue_on_commit
from core.services import model_update

from ..models import (
    Delivery,
    EmailChoice,
    Notification,
    NotificationChannel,
    NotificationKind,
    NotificationPreference,
)

UNKNOWN_KIND = "{kind!r} is not a kind of notification."
UNKNOWN_CHOICE = "{choice!r} is not an e-mail choice."


def email_choices(users: Iterable, kind: str) -> dict[int, str]:
    """Each user's e-mail choice for `kind`: their preference, else KEEL_NOTIFY_EMAIL_DEFAULT."""
    users = list(users)
    chosen = dict(NotificationPreference.objects.filter(user__in=users, kind=kind).values_list("user_id", "email"))
    return {u.pk: chosen.get(u.pk, settings.KEEL_NOTIFY_EMAIL_DEFAULT) for u in users}


def notify(*, kind: str, users: Iterable, title: str, body: str, url: str, key: str, channels: bool = True) -> list:
    """Tell `users` (inactive ones are skipped) and the channels subscribed to `kind`. Returns the deliveries
    made. Safe to call again with the same key: nobody is told twice."""
    users = [u for u in {u.pk: u for u in users if u is not None and u.is_active}.values()]
    already = set(Notification.objects.filter(recipient__in=users, key=key).values_list("recipient_id", flat=True))
    fresh = [u for u in users if u.pk not in already]
    notes = Notification.objects.bulk_create(
        [Notification(recipient=u, kind=kind, title=title[:300], body=body, url=url, key=key) for u in fresh]
    )
    wants = email_choices(fresh, kind)
    deliveries = [
        Delivery(notification=n, email=u.email, subject=title[:300], text=body, url=url, kind=kind, key=key)
        for n, u in zip(notes, fresh, strict=True)
        if u.email and wants[u.pk] == EmailChoice.IMMEDIATELY
    ]
    if channels:
        told = set(Delivery.objects.filter(key=key, channel__isnull=False).values_list("channel_id", flat=True))
        deliveries += [
            Delivery(channel=c, subject=title[:300], text=body, url=url, kind=kind, key=key)
            for c in NotificationChannel.objects.filter(enabled=True)
            if kind in c.kinds and c.pk not in told
        ]
    made = Delivery.objects.bulk_create(deliveries)
    if made:
        ids = [d.pk for d in made]
        if settings.KEEL_NOTIFY_DELIVER_INLINE:  # the test suite only: send at once, in this process
            from .delivery import deliver

            deliver(ids)
        else:
            enqueue_on_commit("governance.tasks.deliver_notifications", ids)
    return made


def notifications_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Mark some (or all) of the user's unread notifications read; reading is not an audited decision."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


@transaction.atomic
def preferences_set(*, user, choices: dict[str, str]) -> int:
    """Save a person's e-mail choice per kind; audited (it decides who hears about governance events)."""
    for kind, choice in choices.items():
        if kind not in NotificationKind.values:
            raise ValidationError({kind: [UNKNOWN_KIND.format(kind=kind)]})
        if choice not in EmailChoice.values:
            raise ValidationError({kind: [UNKNOWN_CHOICE.format(choice=choice)]})
    before = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email"))
    changed = {k: v for k, v in choices.items() if before.get(k, settings.KEEL_NOTIFY_EMAIL_DEFAULT) != v}
    for kind, choice in changed.items():
        NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"email": choice})
    if changed:
        audit.record(
            actor=user, action="notification.preferences_changed", object_type="auth.user", object_id=str(user.pk),
            before={k: before.get(k, settings.KEEL_NOTIFY_EMAIL_DEFAULT) for k in changed}, after=changed,
        )  # fmt: skip
    return len(changed)


CHANNEL_FIELDS = ("name", "kind", "url", "secret_env", "kinds", "enabled")
SECRET_ENV_INVALID = "Give the name of an environment variable (letters, digits and _), not the secret itself."  # noqa: S105


def _check_channel(data: dict) -> None:
    unknown = [k for k in data.get("kinds", []) if k not in NotificationKind.values]
    if unknown:
        raise ValidationError({"kinds": [UNKNOWN_KIND.format(kind=unknown[0])]})
    secret_env = data.get("secret_env", "")
    if secret_env and not (
        secret_env.replace("_", "").isalnum() and secret_env.isascii() and not secret_env[0].isdigit()
    ):
        raise ValidationError({"secret_env": [SECRET_ENV_INVALID]})


@transaction.atomic
def channel_save(*, by, channel: NotificationChannel | None = None, **data) -> NotificationChannel:
    """Create or change a channel (admins, through the Django admin); audited, the secret's value never is."""
    _check_channel(data)
    if channel is None:
        channel = NotificationChannel(**data)
        channel.full_clean()
        channel.save()
        audit.record(actor=by, action="notification_channel.created", obj=channel,
                     after=audit.snapshot(channel, CHANNEL_FIELDS))  # fmt: skip
        return channel
    channel, _ = model_update(instance=channel, fields=CHANNEL_FIELDS, data=data, by=by,
                              action="notification_channel.updated")  # fmt: skip
    return channel


@transaction.atomic
def channel_delete(*, by, channel: NotificationChannel) -> None:
    audit.record(actor=by, action="notification_channel.deleted", obj=channel,
                 before=audit.snapshot(channel, CHANNEL_FIELDS))  # fmt: skip
    channel.delete()
