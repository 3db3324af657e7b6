from rest_framework import serializers

from ..models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq", "occurred_at", "actor_id", "actor_repr", "action", "object_type", "object_id",
            "before", "after", "request_id", "task_id", "hash_alg", "prev_hash", "hash",
        ]  # fmt: skip
        read_only_fields = fields
