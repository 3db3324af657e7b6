from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """The controls over the facts: audit trail now; risks, sign-offs, gate and lineage to come."""

    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        from core import audit as audit_port

        from .audit import append_event, append_events

        audit_port.register_writer(append_event, many=append_events)
