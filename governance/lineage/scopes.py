"""Which OpenLineage namespaces a caller may post lineage to.

An API token carries namespace patterns (core.ApiToken.lineage_namespaces, set by an admin): an exact
namespace ("s3://lake") or a prefix ending in "*" ("postgres://crm:5432*"; "*" alone is every
namespace). A token with none may post to the patterns of KEEL_LINEAGE_DEFAULT_NAMESPACES, empty (none)
by default: a new producer token writes nothing until an admin says where it may write.

What an event writes decides: the job's namespace (a RunEvent or JobEvent creates or updates that
job) or the dataset's (a DatasetEvent), and the namespace of every OUTPUT dataset (the event creates
or changes those datasets, their fields, facets and edges). Inputs are only read, so they may come
from anywhere. One namespace outside the scope refuses the whole event (403, nothing stored), naming
every namespace that is outside.

People signed in to the UI (session) are not scoped: the role check (Admin, Team Lead) is theirs;
scopes restrict machine credentials, which are what producers hold. Structure problems (a missing or
non-text namespace) are left to validation, which refuses them with its own reasons.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from core.errors import PermissionDeniedError
from core.services import namespace_patterns

OUT_OF_SCOPE = (
    "This API token may not post lineage to {namespaces}: {why} An admin sets a token's namespaces "
    "in the admin (API tokens) or with `manage.py scope_api_token <prefix> <namespace>...`."
)
WHY_SCOPED = "its namespaces are {patterns}."
WHY_NONE = "it has no lineage namespaces (and KEEL_LINEAGE_DEFAULT_NAMESPACES gives none)."


class NamespaceOutOfScope(PermissionDeniedError):
    code = "namespace_out_of_scope"

    def __init__(self, namespaces: list[str], patterns: list[str]):
        self.namespaces, self.patterns = namespaces, patterns
        why = WHY_SCOPED.format(patterns=", ".join(patterns)) if patterns else WHY_NONE
        super().__init__(OUT_OF_SCOPE.format(namespaces=", ".join(namespaces), why=why))


def matches(namespace: str, pattern: str) -> bool:
    """An exact namespace, or a prefix when the pattern ends in "*"."""
    if pattern.endswith("*"):
        return namespace.startswith(pattern[:-1])
    return namespace == pattern


def token_patterns(token) -> list[str]:
    """The token's own patterns, else the configured default ones."""
    own = list(getattr(token, "lineage_namespaces", None) or [])
    return own or namespace_patterns(settings.KEEL_LINEAGE_DEFAULT_NAMESPACES)


def written_namespaces(payload: Any) -> list[str]:
    """The namespaces an event writes to: its job's (or its dataset's) and every output's, in order."""
    if not isinstance(payload, dict):
        return []
    owners = [payload.get("dataset")] if "dataset" in payload and "run" not in payload else [payload.get("job")]
    outputs = payload.get("outputs") if isinstance(payload.get("outputs"), list) else []
    seen: list[str] = []
    for item in [*owners, *outputs]:
        namespace = item.get("namespace") if isinstance(item, dict) else None
        if isinstance(namespace, str) and namespace and namespace not in seen:
            seen.append(namespace)
    return seen


def check_event_namespaces(payload: Any, *, token) -> None:
    """Refuse (NamespaceOutOfScope, a 403) an event that writes outside the token's namespaces.

    `token` is the core.ApiToken the request authenticated with, or None for a session (unscoped)."""
    if token is None:
        return
    patterns = token_patterns(token)
    outside = [ns for ns in written_namespaces(payload) if not any(matches(ns, p) for p in patterns)]
    if outside:
        raise NamespaceOutOfScope(outside, patterns)
