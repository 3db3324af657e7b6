"""How far the applied lineage graph is behind what producers sent.

A stored LineageEvent with applied_at null waits to be applied (in id order). The status is what the
API (GET /api/v1/lineage/status) and the pages show: how many wait, and how old the oldest is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ..models import LineageEvent


@dataclass(frozen=True)
class QueueStatus:
    pending: int
    oldest_received_at: datetime | None

    @property
    def oldest_age_seconds(self) -> float | None:
        if self.oldest_received_at is None:
            return None
        return max(0.0, (timezone.now() - self.oldest_received_at).total_seconds())

    def as_dict(self) -> dict:
        return {
            "pending": self.pending,
            "oldest_received_at": self.oldest_received_at.isoformat() if self.oldest_received_at else None,
            "oldest_age_seconds": self.oldest_age_seconds,
        }


def queue_status() -> QueueStatus:
    """Two index-only reads on the partial index of waiting events."""
    waiting = LineageEvent.objects.filter(applied_at__isnull=True)
    oldest = waiting.order_by("id").values_list("received_at", flat=True).first()
    return QueueStatus(pending=waiting.count() if oldest is not None else 0, oldest_received_at=oldest)
