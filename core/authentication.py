from __future__ import annotations

import hmac

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken
from .queries import fetch_instances

INVALID_TOKEN = "Invalid, expired or revoked API token."  # noqa: S105 - a message, not a secret


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token keel_<prefix>_<secret>`; the key is compared against its stored hash."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN) from None
        parts = key.split("_")
        if len(parts) < 3 or parts[0] != "keel":
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        token = token_with_user(parts[1])
        if (
            token is None
            or not hmac.compare_digest(token.key_hash, ApiToken.hash_key(key))
            or not token.is_usable()
            or not token.user.is_active
        ):
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        # Only touch the row when the stored time is stale, so every API call is not a write.
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            # Not audited, by design: usage telemetry written on API calls, not a change anyone made (the
            # token's creation, scoping and revocation are audited in core.services).
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to anonymous API calls.
        return self.keyword


def token_with_user(prefix: str) -> ApiToken | None:
    """The token with this prefix and its user, or None: two plain-SQL reads by unique key. Every API call
    (each OpenLineage event a pipeline posts) authenticates, and the ORM's join cost several times what
    the database spends answering it."""
    found = fetch_instances(ApiToken, "prefix = %s", [prefix])
    if not found:
        return None
    token = found[0]
    token.user = fetch_instances(get_user_model(), "id = %s", [token.user_id])[0]
    return token


class BearerApiTokenAuthentication(ApiTokenAuthentication):
    """`Authorization: Bearer keel_<prefix>_<secret>`: the same token and rules, in the spelling OpenLineage's
    HTTP transport (and most HTTP clients) send; accepted on every endpoint, not only the lineage ingest."""

    keyword = "Bearer"
