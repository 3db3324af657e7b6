from __future__ import annotations

import hmac

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken
from .queries import plain_columns, prepared_cursor
from .roles import remember_roles

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
    """The token with this prefix, its user, and the user's roles (cached on the user, as user_roles() would
    read them), or None: ONE plain-SQL read (the token by its unique prefix, joined to its user and the
    user's groups). Every API call (each OpenLineage event a pipeline posts) authenticates, and the ORM's
    three queries cost several times what the database spends answering this one."""
    token_columns, user_columns, sql = _token_read()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [prefix])
        rows = cursor.fetchall()
    if not rows:
        return None
    token = token_columns.instance(rows[0])
    token.user = user_columns.instance(rows[0])
    remember_roles(token.user, {row[-1] for row in rows if row[-1] is not None})
    return token


_TOKEN_READS: dict = {}


def _token_read():
    if connection.vendor not in _TOKEN_READS:
        user_model = get_user_model()
        groups = user_model.groups.through
        quote = connection.ops.quote_name
        user_pk = quote(user_model._meta.pk.column)
        token_columns = plain_columns(ApiToken, "t")
        user_columns = plain_columns(user_model, "u", offset=token_columns.span[1])
        sql = (
            f"SELECT {token_columns.sql}, {user_columns.sql}, g.{quote('name')} "  # noqa: S608 - names from the models
            f"FROM {quote(ApiToken._meta.db_table)} t INNER JOIN {quote(user_model._meta.db_table)} u "
            f"ON u.{user_pk} = t.{quote(ApiToken._meta.get_field('user').column)} "
            f"LEFT JOIN {quote(groups._meta.db_table)} m ON m.{quote('user_id')} = u.{user_pk} "
            f"LEFT JOIN {quote(Group._meta.db_table)} g ON g.{quote('id')} = m.{quote('group_id')} "
            f"WHERE t.{quote('prefix')} = %s"
        )
        _TOKEN_READS[connection.vendor] = (token_columns, user_columns, sql)
    return _TOKEN_READS[connection.vendor]


class BearerApiTokenAuthentication(ApiTokenAuthentication):
    """`Authorization: Bearer keel_<prefix>_<secret>`: the same token and rules, in the spelling OpenLineage's
    HTTP transport (and most HTTP clients) send; accepted on every endpoint, not only the lineage ingest."""

    keyword = "Bearer"
