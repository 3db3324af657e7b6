"""The only code that writes in projects. Each service is one transaction with its audit event.

portfolio: teams and AI projects. registries: registry connections, manual links, and the sync.
"""

from .portfolio import (
    DELETE_ONLY_IDEAS,
    ILLEGAL_INITIAL_STAGE,
    ILLEGAL_TRANSITION,
    NOT_YOUR_TEAM,
    PROJECT_EDITABLE,
    PROJECT_FIELDS,
    RESERVED_SLUGS,
    SAME_STAGE,
    SLUG_TAKEN,
    TEAM_FIELDS,
    TEAM_NOT_EMPTY,
    TEAMS_ADMIN_ONLY,
    project_change_stage,
    project_create,
    project_delete,
    project_update,
    team_create,
    team_delete,
    team_update,
)
from .registries import (
    adapter_for,
    registered_model_link,
    registry_create,
    registry_sync,
    registry_sync_enqueue,
    registry_update,
)

__all__ = [
    "DELETE_ONLY_IDEAS",
    "ILLEGAL_INITIAL_STAGE",
    "ILLEGAL_TRANSITION",
    "NOT_YOUR_TEAM",
    "PROJECT_EDITABLE",
    "PROJECT_FIELDS",
    "RESERVED_SLUGS",
    "SAME_STAGE",
    "SLUG_TAKEN",
    "TEAMS_ADMIN_ONLY",
    "TEAM_FIELDS",
    "TEAM_NOT_EMPTY",
    "adapter_for",
    "project_change_stage",
    "project_create",
    "project_delete",
    "project_update",
    "registered_model_link",
    "registry_create",
    "registry_sync",
    "registry_sync_enqueue",
    "registry_update",
    "team_create",
    "team_delete",
    "team_update",
]
