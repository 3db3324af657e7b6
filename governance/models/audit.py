from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The audit trail is append-only: rows cannot be updated.")

    def delete(self):
        raise TypeError("The audit trail is append-only: rows cannot be deleted.")


class AuditEvent(models.Model):
    """One write, hash-chained to the one before it. Append-only: the database refuses UPDATE and DELETE."""

    seq = models.PositiveBigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)
    # The actor is a snapshot, not a foreign key: deleting a user must neither fail on nor rewrite history.
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_repr = models.CharField(max_length=150)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    hash_alg = models.PositiveSmallIntegerField(default=1)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The audit trail is append-only: an event cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit trail is append-only: an event cannot be deleted.")


class AuditChainHead(models.Model):
    """The newest seq and hash, with a MAC keyed outside the database.

    The chain alone cannot show that its newest rows were cut off; this signed head can, and it
    cannot be re-forged by someone who can write the database but does not hold the secret key.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class VerificationSource(models.TextChoices):
    COMMAND = "command", "manage.py verify_audit"
    WORKER = "worker", "Requested on the audit page, run by a worker"


class AuditVerification(models.Model):
    """One walk of the audit chain: who asked, when it ran, what it found. Not finished: `ok` is None."""

    source = models.CharField(max_length=10, choices=VerificationSource.choices)
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # None until it finishes, and for a run that could not finish: unknown, never taken as intact.
    ok = models.BooleanField(null=True, blank=True)
    events_verified = models.PositiveBigIntegerField(default=0)
    first_bad_seq = models.PositiveBigIntegerField(null=True, blank=True)
    problem = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        state = "running" if self.finished_at is None else ("intact" if self.ok else "failed")
        return f"verification #{self.pk} {state}"


class AuditCheckpoint(models.Model):
    """A signed statement that the chain's first `seq` events end in `hash` (Certificate Transparency style).

    Signed with the audit key (Ed25519), whose private half is not in the database: an export carries the
    checkpoints, and anyone holding the public key can tell the chain they are given from a rewritten one.
    """

    seq = models.PositiveBigIntegerField(db_index=True)
    hash = models.CharField(max_length=64)
    signed_at = models.CharField(max_length=32)  # the exact text that was signed (UTC ISO-8601)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)  # base64 of the 64-byte Ed25519 signature

    class Meta:
        ordering = ["-seq", "-id"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} ({self.key_id})"
