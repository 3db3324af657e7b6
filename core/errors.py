"""Domain errors raised by services; views and the API exception handler turn them into responses."""

from __future__ import annotations


class DomainError(Exception):
    """A request that is well-formed but not allowed by the domain rules (maps to 400/409)."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class TransitionError(DomainError):
    """A state machine refused the move (e.g. an illegal lifecycle stage jump)."""

    status_code = 400
    code = "illegal_transition"


class PermissionDeniedError(DomainError):
    """The actor may not perform this write."""

    status_code = 403
    code = "permission_denied"


class ConflictError(DomainError):
    """The request was valid when sent but the state moved on (e.g. a decision on a closed sign-off)."""

    status_code = 409
    code = "conflict"
