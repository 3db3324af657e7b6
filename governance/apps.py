from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """The controls over the facts: audit trail, risks and tiering, sign-offs and the deployment gate."""

    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        from core import audit as audit_port

        from .audit.chain import append_entries, append_event

        audit_port.register_writer(append_event, many=append_entries)

        from .signoff import receivers

        receivers.connect()

        from .compliance import receivers as compliance_receivers

        compliance_receivers.connect()

        from .lineage import receivers as lineage_receivers

        lineage_receivers.connect()

        from .monitoring import quality as monitoring_quality
        from .monitoring import registry as monitoring_registry

        monitoring_quality.connect()
        monitoring_registry.connect()

        from . import extensions

        extensions.register()
