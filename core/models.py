from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A machine credential for the API; only a SHA-256 of the key is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    # The first characters of the key, stored in clear so a presented key is found with one indexed
    # lookup and so people can tell their tokens apart; the rest of the key is never stored.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # OpenLineage namespace patterns this token may post lineage to: exact ("s3://lake") or a prefix
    # ending in "*" ("postgres://crm:5432*"). Empty: none, unless KEEL_LINEAGE_DEFAULT_NAMESPACES
    # gives a default (governance/lineage/scopes.py applies the rule). Set through core.services only.
    lineage_namespaces = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class Heartbeat(models.Model):
    """The last sign of life of a background process kind ("worker", "beat"), for /healthz."""

    WORKER = "worker"
    BEAT = "beat"

    name = models.CharField(max_length=32, primary_key=True)
    at = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.at.isoformat()}"


class ExternalIdentity(models.Model):
    """The account at a sign-in provider (issuer + subject) that a Keel user signs in with.

    Users are matched on this pair, never on an email address: a provider's email is not proof that the
    person owns a local Keel account of that address."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="core_identity_issuer_subject_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"
