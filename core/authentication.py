from __future__ import annotations

import hmac

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken

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
        token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
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
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to anonymous API calls.
        return self.keyword


class BearerApiTokenAuthentication(ApiTokenAuthentication):
    """`Authorization: Bearer keel_<prefix>_<secret>`: the same token and rules, in the spelling OpenLineage's
    HTTP transport (and most HTTP clients) send; accepted on every endpoint, not only the lineage ingest."""

    keyword = "Bearer"
