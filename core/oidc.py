"""Single sign-on through the organisation's OpenID Connect provider (mozilla-django-oidc underneath).

The library runs the authorization code flow with PKCE; Keel adds what an organisation expects of it:

- the provider's endpoints come from its discovery document, so one setting (KEEL_OIDC_ISSUER) names it;
- the ID token's issuer and audience are checked (the library checks neither);
- a user is the provider account (issuer + subject, core.models.ExternalIdentity), created at the first
  sign-in, never matched on an email address;
- roles come from one claim (KEEL_OIDC_ROLES_CLAIM) mapped to Keel roles (KEEL_OIDC_ROLE_MAP) and are
  re-evaluated at every sign-in through core.services' role grant and revoke, so each change is audited
  like any other (projects.inventory.oidc adds team leadership the same way);
- sign-out ends the provider session when the provider publishes an end-session endpoint.

Nothing here runs unless KEEL_OIDC_ISSUER is set: the views answer 404 and the backend is not installed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.checks import Error, register
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from . import audit
from .errors import DomainError
from .models import ExternalIdentity
from .roles import Role
from .services import role_named, user_role_grant, user_role_revoke

logger = logging.getLogger(__name__)

SIGN_IN_METHOD = "oidc"
DISCOVERY_TTL_SECONDS = 3600
PROVIDER_UNREACHABLE = "{provider} cannot be reached just now; please try again in a moment."
SIGN_IN_FAILED = "Signing in with {provider} did not succeed; please try again."
NOBODY_SIGNS_IN = "KEEL_LOCAL_PASSWORDS=false needs KEEL_OIDC_ISSUER: nobody could sign in."
ROLE_MAP_INVALID = "KEEL_OIDC_ROLE_MAP maps the group {group!r} to {role!r}, which is not a Keel role."
_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")

_discovered: dict[str, tuple[float, dict]] = {}
_discovery_lock = threading.Lock()


class DiscoveryError(Exception):
    """The provider's discovery document could not be read, or names another issuer."""


def enabled() -> bool:
    return bool(settings.KEEL_OIDC_ISSUER)


def provider_name() -> str:
    return settings.KEEL_OIDC_PROVIDER_NAME


def discovery() -> dict:
    """The issuer's OpenID Provider metadata, fetched when first needed and kept for an hour."""
    issuer = settings.KEEL_OIDC_ISSUER
    with _discovery_lock:
        cached = _discovered.get(issuer)
        if cached and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
    try:
        response = requests.get(
            f"{issuer}/.well-known/openid-configuration",
            timeout=settings.OIDC_TIMEOUT,
            verify=settings.OIDC_VERIFY_SSL,
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise DiscoveryError(f"reading {issuer}'s discovery document failed: {exc}") from exc
    # OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise DiscoveryError(f"the discovery document at {issuer} names the issuer {document.get('issuer')!r}")
    with _discovery_lock:
        _discovered[issuer] = (time.monotonic(), document)
    return document


_ENDPOINT_SETTINGS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


CALLBACK_URL_NAME = "oidc_authentication_callback"
# Decisions, not knobs: the code flow with PKCE (S256); the ID token kept in the session for the
# sign-out hint; sign-out through provider_logout_url.
_FIXED_SETTINGS = {
    "OIDC_USE_PKCE": True,
    "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
    "OIDC_STORE_ID_TOKEN": True,
    "OIDC_OP_LOGOUT_URL_METHOD": "core.oidc.provider_logout_url",
    "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
}


def _setting(attr, *default):
    """mozilla-django-oidc's settings: the provider's endpoints from discovery, Keel's fixed choices, then
    Django's settings (where config/settings.py sets the client's from KEEL_OIDC_* variables)."""
    if attr in _ENDPOINT_SETTINGS:
        return discovery().get(_ENDPOINT_SETTINGS[attr], *default)
    if attr in _FIXED_SETTINGS:
        return _FIXED_SETTINGS[attr]
    if default:
        return getattr(settings, attr, default[0])
    return getattr(settings, attr)


def claim_values(claims: dict, name: str) -> set[str]:
    """A claim as a set of strings: providers send groups as a list, some as one string."""
    value = claims.get(name)
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {str(item) for item in value}
    return {str(value)}


class OIDCBackend(OIDCAuthenticationBackend):
    """Signs a person in from the provider's answer and brings their Keel account in line with it."""

    def __init__(self, *args, **kwargs):
        # The library reads its endpoints here; Keel reads them from discovery when a sign-in needs them.
        self.UserModel = get_user_model()

    get_settings = staticmethod(_setting)

    def authenticate(self, request, **kwargs):
        if not enabled() or request is None or "code" not in request.GET or "state" not in request.GET:
            return None
        try:
            self.OIDC_OP_TOKEN_ENDPOINT = _setting("OIDC_OP_TOKEN_ENDPOINT")
            self.OIDC_OP_USER_ENDPOINT = _setting("OIDC_OP_USER_ENDPOINT")
            self.OIDC_OP_JWKS_ENDPOINT = _setting("OIDC_OP_JWKS_ENDPOINT", None)
            self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
            self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
            self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
            self.OIDC_RP_IDP_SIGN_KEY = None
            user = super().authenticate(request, **kwargs)
        except (DiscoveryError, requests.RequestException, SuspiciousOperation, DomainError) as exc:
            # A refused code (wrong PKCE verifier, replayed code), a bad signature, an unreachable provider:
            # the sign-in fails (Django then signals a failed sign-in, which the audit trail records).
            logger.warning("OIDC sign-in refused: %s", exc)
            return None
        if user is not None and not user.is_active:
            # Deactivated in Keel: the provider's word does not reopen the account. Returning None makes
            # Django signal a failed sign-in, which the audit trail records naming this account.
            request._keel_refused_account = user
            return None
        if user is not None:
            user._keel_sign_in_method = SIGN_IN_METHOD  # read by core.access_audit's sign-in event
        return user

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if kwargs.get("nonce") is None:
            return payload  # a signed userinfo answer, not the ID token
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if str(payload.get("iss", "")).rstrip("/") != settings.KEEL_OIDC_ISSUER:
            raise SuspiciousOperation(f"ID token issued by {payload.get('iss')!r}, not {settings.KEEL_OIDC_ISSUER!r}")
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token not issued for this client")
        return payload

    def retrieve_matching_jwk(self, token):
        if "kid" in jwt.get_unverified_header(token):
            return super().retrieve_matching_jwk(token)
        # A key id is optional (RFC 7515 §4.1.4); the library assumes one. A provider with a single key
        # may leave it out: then that key, and only when it is the only one for the algorithm.
        response = requests.get(
            self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL
        )
        response.raise_for_status()
        algorithm = self.OIDC_RP_SIGN_ALGO
        keys = [key for key in response.json().get("keys", []) if key.get("alg", algorithm) == algorithm]
        if len(keys) != 1:
            raise SuspiciousOperation("The ID token names no key and the provider has more than one.")
        return jwt.PyJWK(keys[0])

    def get_userinfo(self, access_token, id_token, payload):
        # Some providers put groups in the ID token only, others in userinfo only: read both.
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):  # OpenID Connect Core §5.3.2
            raise SuspiciousOperation("The userinfo answer is about another subject than the ID token.")
        return {**payload, **userinfo}

    def verify_claims(self, claims) -> bool:
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(
            external_identities__issuer=settings.KEEL_OIDC_ISSUER, external_identities__subject=claims["sub"]
        )

    def get_or_create_user(self, access_token, id_token, payload):
        # The account, its identity and every role change of one sign-in are one transaction.
        with transaction.atomic():
            return super().get_or_create_user(access_token, id_token, payload)

    def create_user(self, claims):
        user = self.UserModel(username=self._free_username(claims))
        user.set_unusable_password()
        _profile_from_claims(user, claims)
        user.save()
        ExternalIdentity.objects.create(user=user, issuer=settings.KEEL_OIDC_ISSUER, subject=claims["sub"])
        audit.record(
            actor=None,
            action="user.created",
            obj=user,
            after={"username": user.get_username(), "issuer": settings.KEEL_OIDC_ISSUER, "subject": claims["sub"]},
        )
        return self.update_user(user, claims, created=True)

    def update_user(self, user, claims, created: bool = False):
        if not created and _profile_from_claims(user, claims):
            user.save(update_fields=["first_name", "last_name", "email"])
        self.sync_access(user, claims)
        return user

    def groups(self, claims) -> set[str]:
        return claim_values(claims, settings.KEEL_OIDC_ROLES_CLAIM)

    def roles_from_claims(self, claims) -> set[str]:
        """The Keel roles the user's provider groups give (KEEL_OIDC_ROLE_MAP)."""
        mapping = settings.KEEL_OIDC_ROLE_MAP
        return {role_named(mapping[group]).value for group in self.groups(claims) if group in mapping}

    def sync_access(self, user, claims) -> None:
        """Grant the mapped roles the user lacks and revoke the roles no group gives any more. Each goes
        through core.services (audited there, with the system as actor: the provider decided)."""
        wanted = self.roles_from_claims(claims)
        held = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        for role in sorted(wanted - held):
            user_role_grant(user=user, role=role)
        for role in sorted(held - wanted):
            user_role_revoke(user=user, role=role)
        user.__dict__.pop("_keel_roles", None)  # core.roles caches the roles on the user object

    def _free_username(self, claims) -> str:
        email = str(claims.get("email") or "")
        wanted = str(claims.get("preferred_username") or email.partition("@")[0] or claims["sub"])
        base = _USERNAME_UNSAFE.sub("-", wanted)[:140] or "user"
        candidate, n = base, 2
        while self.UserModel.objects.filter(username=candidate).exists():
            candidate, n = f"{base}-{n}", n + 1
        return candidate


def _profile_from_claims(user, claims) -> bool:
    """Copy name and email from the claims the provider sent; True when something changed."""
    changed = False
    fields = (("first_name", "given_name", 150), ("last_name", "family_name", 150), ("email", "email", 254))
    for field, claim, limit in fields:
        value = claims.get(claim)
        if isinstance(value, str) and value[:limit] != getattr(user, field):
            setattr(user, field, value[:limit])
            changed = True
    return changed


# --- views ------------------------------------------------------------------------------------------


def _refuse_when_disabled(request):
    if not enabled():
        raise Http404("Single sign-on is not configured.")


class SignInStart(OIDCAuthenticationRequestView):
    """Sends the browser to the provider with state, nonce and a PKCE challenge kept in the session."""

    get_settings = staticmethod(_setting)

    def __init__(self, *args, **kwargs):
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)  # endpoints are read in get()

    def get(self, request):
        _refuse_when_disabled(request)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = _setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except DiscoveryError as exc:
            logger.warning("OIDC sign-in not started: %s", exc)
            messages.error(request, PROVIDER_UNREACHABLE.format(provider=provider_name()))
            return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class SignInCallback(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back with a code; the backend turns it into a signed-in user."""

    get_settings = staticmethod(_setting)

    def get(self, request):
        _refuse_when_disabled(request)
        return super().get(request)

    def login_failure(self):
        messages.error(self.request, SIGN_IN_FAILED.format(provider=provider_name()))
        return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))


class SignOut(OIDCLogoutView):
    """Ends the Keel session and, for a provider sign-in, the provider's (provider_logout_url)."""

    get_settings = staticmethod(_setting)

    @property
    def redirect_url(self):
        return resolve_url(settings.LOGOUT_REDIRECT_URL)


def provider_logout_url(request) -> str:
    """Where sign-out sends the browser: the provider's end-session endpoint (OpenID Connect RP-initiated
    logout) when the user signed in there and the provider has one, else Keel's sign-in page."""
    local = resolve_url(settings.LOGOUT_REDIRECT_URL)
    id_token = request.session.get("oidc_id_token")
    if not enabled() or not id_token:
        return local
    try:
        endpoint = discovery().get("end_session_endpoint")
    except DiscoveryError as exc:
        logger.warning("OIDC sign-out ends the Keel session only: %s", exc)
        return local
    if not endpoint:
        return local
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(local),
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def axes_exempt(request, credentials) -> bool:
    """django-axes' whitelist (AXES_WHITELIST_CALLABLE): the OIDC callback. It names no username, so axes
    would key every failed callback from one address on (no name, that address) and lock a whole office
    out of single sign-on; the provider guards its own sign-in, and the audit trail records each failure."""
    return request is not None and request.path_info == reverse(CALLBACK_URL_NAME)


@register()
def check_sign_in_settings(app_configs, **kwargs):
    """Refuse to start with a role map naming a role Keel does not have (a typo would silently grant nothing),
    or with local passwords off and no provider (nobody could sign in)."""
    errors = []
    if not settings.KEEL_LOCAL_PASSWORDS and not enabled():
        errors.append(Error(NOBODY_SIGNS_IN, id="keel.E004"))
    for group, role in settings.KEEL_OIDC_ROLE_MAP.items():
        try:
            role_named(str(role))
        except DomainError:
            errors.append(Error(ROLE_MAP_INVALID.format(group=group, role=role), id="keel.E003"))
    return errors
