"""governance's pages, one module per sub-domain: audit, tiering, risks, findings."""

from .audit import AuditListView

__all__ = ["AuditListView"]
