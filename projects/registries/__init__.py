"""Model-registry adapters, one small module per kind, behind one interface (base.RegistryAdapter)."""

from .base import (
    SIGNAL_ALIAS,
    SIGNAL_APPROVAL,
    SIGNAL_STAGE,
    PermanentRegistryError,
    RegistryAdapter,
    RegistryError,
    RemoteModel,
    RemoteVersion,
    Snapshot,
    TransientRegistryError,
)

__all__ = [
    "SIGNAL_ALIAS",
    "SIGNAL_APPROVAL",
    "SIGNAL_STAGE",
    "PermanentRegistryError",
    "RegistryAdapter",
    "RegistryError",
    "RemoteModel",
    "RemoteVersion",
    "Snapshot",
    "TransientRegistryError",
]
