"""The client's address, the one rule that the sign-in lockout (django-axes) and the audit trail share.

Without KEEL_BEHIND_PROXY, it is REMOTE_ADDR: X-Forwarded-For is ignored, since any client can send one.
Behind a proxy, REMOTE_ADDR is the proxy's own address, the same for everyone, so the client is read from
X-Forwarded-For. Each proxy appends the address it received the request from, so with N trusted proxies
in front of Keel the client is the N-th entry from the right; everything left of it was written by the
client (or proxies Keel does not trust) and can be forged. When the header has fewer entries than that,
or the entry is not an IP address, the request did not come through the trusted proxies as configured
and REMOTE_ADDR is the only address Keel can vouch for.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    """The address of the client that sent `request` (see the module docstring), or "" when none is known."""
    remote = (getattr(request, "META", {}) or {}).get("REMOTE_ADDR") or ""
    if not settings.KEEL_BEHIND_PROXY:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = settings.KEEL_PROXY_TRUSTED_HOPS
    if hops < 1 or len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
