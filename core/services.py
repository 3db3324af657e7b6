"""Writes owned by core: API tokens and heartbeats."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from . import audit
from .errors import DomainError
from .models import ApiToken, Heartbeat

TOKEN_PREFIX_BYTES = 6
TOKEN_SECRET_BYTES = 32
TOKEN_USER_INACTIVE = "User {username} is inactive; an inactive user cannot hold API tokens."  # noqa: S105 - a message
TOKEN_ALREADY_REVOKED = "Token {prefix} is already revoked."  # noqa: S105 - a message


@transaction.atomic
def api_token_create(*, user, name: str = "", days: int | None = 90, by=None) -> tuple[ApiToken, str]:
    """Create a token and return it with its key; the key is shown once and never stored."""
    if not user.is_active:
        raise DomainError(TOKEN_USER_INACTIVE.format(username=user.get_username()))
    prefix = secrets.token_hex(TOKEN_PREFIX_BYTES)
    key = f"keel_{prefix}_{secrets.token_urlsafe(TOKEN_SECRET_BYTES)}"
    expires_at = timezone.now() + dt.timedelta(days=days) if days else None
    token = ApiToken(user=user, name=name, prefix=prefix, key_hash=ApiToken.hash_key(key), expires_at=expires_at)
    token.full_clean()
    token.save()
    audit.record(
        actor=by,
        action="api_token.created",
        obj=token,
        after={"user": user.pk, "name": name, "prefix": prefix, "expires_at": audit.json_value(expires_at)},
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by=None) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise DomainError(TOKEN_ALREADY_REVOKED.format(prefix=token.prefix))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(
        actor=by,
        action="api_token.revoked",
        obj=token,
        before={"revoked_at": None},
        after={"revoked_at": audit.json_value(token.revoked_at)},
    )
    return token


def heartbeat_record(*, name: str, detail: str = "") -> None:
    """Operational telemetry, not a governance fact: deliberately not audited (it would flood the trail)."""
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now(), "detail": detail[:200]})


def user_by_username(username: str):
    User = get_user_model()
    try:
        return User.objects.get(**{User.USERNAME_FIELD: username})
    except User.DoesNotExist:
        raise DomainError(f"No user named {username!r}.") from None
