"""projects' models: the portfolio (teams, AI projects) and what registries say about their models."""

from .portfolio import (
    INITIAL_STAGES,
    STAGE_TRANSITIONS,
    AIProject,
    Health,
    RiskTier,
    Stage,
    Team,
    currency_validator,
)
from .registries import (
    DeploymentObservation,
    LinkSource,
    ModelVersion,
    RegisteredModel,
    Registry,
    RegistryKind,
    Signal,
    SyncRun,
    SyncStatus,
)

__all__ = [
    "INITIAL_STAGES",
    "STAGE_TRANSITIONS",
    "AIProject",
    "DeploymentObservation",
    "Health",
    "LinkSource",
    "ModelVersion",
    "RegisteredModel",
    "Registry",
    "RegistryKind",
    "RiskTier",
    "Signal",
    "Stage",
    "SyncRun",
    "SyncStatus",
    "Team",
    "currency_validator",
]
