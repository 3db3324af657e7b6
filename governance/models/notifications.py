"""Telling people: an in-app notification per person, the channels an admin points at chat tools, each
person's preferences, and the log of every delivery attempt.

A notification is written in the transaction of the change it tells about; delivering it (e-mail, a chat
webhook) is the worker's job, after commit: nothing is sent from inside a request, and a channel that is
down delays a message without undoing the change it reports.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class NotificationKind(models.TextChoices):
    FINDING_OPENED = "finding_opened", "A finding opened"
    SIGNOFF_REQUESTED = "signoff_requested", "A sign-off waits for my role"
    SIGNOFF_DECIDED = "signoff_decided", "A decision on my sign-off request"
    SIGNOFF_INVALIDATED = "signoff_invalidated", "A sign-off stopped being valid"
    INCIDENT_OPENED = "incident_opened", "An incident opened or found serious"
    REMINDER = "reminder", "Reminders of what is overdue"


class EmailChoice(models.TextChoices):
    IMMEDIATELY = "immediately", "E-mail each one"
    DIGEST = "digest", "In the daily digest"
    OFF = "off", "No e-mail (in Keel only)"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="The Keel page to act on it (a path).")
    # One notification per (recipient, key): a rule that runs twice tells nobody twice.
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    digested_at = models.DateTimeField(null=True, blank=True, help_text="When a daily digest carried it.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_key")]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """What a person wants by e-mail for one kind; without a row, KEEL_NOTIFY_EMAIL_DEFAULT applies."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    email = models.CharField(max_length=12, choices=EmailChoice.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_once")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.kind}={self.email}"


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams workflow webhook"
    GENERIC = "generic", "Generic JSON webhook (HMAC-signed)"


class NotificationChannel(models.Model):
    """A chat or automation endpoint that hears about the kinds it subscribes to, for the whole organisation."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    url = models.URLField(max_length=500)
    # The signing secret is read from this environment variable, never stored in the database or the repo.
    secret_env = models.CharField(
        max_length=100, blank=True, help_text="Name of the environment variable holding the HMAC secret."
    )
    kinds = models.JSONField(default=list, help_text="The notification kinds it receives.")
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, will retry"
    GAVE_UP = "gave_up", "Failed, gave up"


class Delivery(models.Model):
    """One message to one place (a person's e-mail, or a channel), with every attempt's outcome."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    channel = models.ForeignKey(NotificationChannel, on_delete=models.SET_NULL, null=True, blank=True)
    email = models.EmailField(blank=True)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    url = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    key = models.CharField(max_length=200, blank=True, help_text="The event's key: a channel hears of it once.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"]), models.Index(fields=["channel", "key"])]

    def __str__(self) -> str:
        return f"{self.subject} → {self.email or self.channel}"
