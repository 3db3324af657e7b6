"""governance's models: the audit trail, the risk register with tier assessments, and findings."""

from .audit import GENESIS_HASH, AuditChainHead, AuditEvent, AuditEventQuerySet
from .findings import Finding, FindingKind, Severity
from .risks import (
    NIST_FUNCTIONS,
    RISK_TRANSITIONS,
    Mitigation,
    MitigationStatus,
    Risk,
    RiskCategory,
    RiskStatus,
    RiskTierAssessment,
)

__all__ = [
    "GENESIS_HASH",
    "NIST_FUNCTIONS",
    "RISK_TRANSITIONS",
    "AuditChainHead",
    "AuditEvent",
    "AuditEventQuerySet",
    "Finding",
    "FindingKind",
    "Mitigation",
    "MitigationStatus",
    "Risk",
    "RiskCategory",
    "RiskStatus",
    "RiskTierAssessment",
    "Severity",
]
