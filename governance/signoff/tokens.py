"""Signed gate decisions: a compact JWS (header.payload.signature, base64url) signed with Ed25519.

The private key comes from the environment (KEEL_GATE_SIGNING_KEY: a PEM private key, or the
base64 of its 32-byte seed) or, in the embedded demo only, from a key file Keel generates under
var/. Anyone holding the public key (GET /api/v1/gate/public-key) can verify a token offline, with
`manage.py verify_gate_token` or a few lines of Python (README), or any JOSE library that knows EdDSA.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from core import json_limits, signing_keys

TOKEN_TYPE = "keel-gate+jwt"  # noqa: S105 — a media type, not a secret


class SigningKeyMissing(Exception):
    """No signing key is configured: the gate cannot give evidence, so it gives no answer (503)."""


class TokenError(Exception):
    """A token that is malformed, signed by another key, or altered."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_private(value: str) -> Ed25519PrivateKey:
    return signing_keys.load_private(value, variable="KEEL_GATE_SIGNING_KEY", error=SigningKeyMissing)


def _embedded_key_file() -> Ed25519PrivateKey:
    return signing_keys.embedded_key_file(
        Path(settings.KEEL_GATE_SIGNING_KEY_FILE), variable="KEEL_GATE_SIGNING_KEY", error=SigningKeyMissing
    )


@lru_cache(maxsize=4)
def _private_key(configured: str, embedded: bool) -> Ed25519PrivateKey:
    if configured:
        return _load_private(configured)
    if embedded:
        return _embedded_key_file()
    raise SigningKeyMissing(
        "The deployment gate has no signing key: set KEEL_GATE_SIGNING_KEY to an Ed25519 private key "
        "(README: 'Deployment gate')."
    )


def private_key() -> Ed25519PrivateKey:
    return _private_key(settings.KEEL_GATE_SIGNING_KEY, settings.EMBEDDED)


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key_raw(key)).hexdigest()[:16]


def public_key_document() -> dict:
    """What /api/v1/gate/public-key serves: PEM for humans and openssl, a JWK for JOSE libraries."""
    key = public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    kid = key_id(key)
    return {
        "kid": kid,
        "alg": "EdDSA",
        "public_key_pem": pem,
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64url(public_key_raw(key)), "kid": kid, "alg": "EdDSA",
                "use": "sig"},
    }  # fmt: skip


def _canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(payload: dict) -> str:
    key = private_key()
    header = {"alg": "EdDSA", "typ": TOKEN_TYPE, "kid": key_id(key.public_key())}
    signing_input = f"{b64url(_canonical(header))}.{b64url(_canonical(payload))}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


@dataclass(frozen=True)
class Verified:
    header: dict
    payload: dict


def load_public_key(text: str) -> Ed25519PublicKey:
    """A PEM public key, or the base64url raw key (the JWK's x)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise TokenError("The public key is not an Ed25519 key.")
        return key
    return Ed25519PublicKey.from_public_bytes(b64url_decode(text))


def verify(token: str, key: Ed25519PublicKey | None = None) -> Verified:
    """Check the signature (with Keel's own public key unless one is given); return header and payload."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise TokenError("A gate token has three dot-separated parts (header.payload.signature).")
    try:
        header = json_limits.loads(b64url_decode(parts[0]))
        payload = json_limits.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError(f"The token is not valid base64url JSON: {exc}") from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise TokenError("The token is not signed with EdDSA (Ed25519).")
    key = key or public_key()
    if header.get("kid") and header["kid"] != key_id(key):
        raise TokenError(f"The token was signed by key {header['kid']}, not by this key ({key_id(key)}).")
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature as exc:
        raise TokenError("The signature does not match: the token was altered or signed by another key.") from exc
    return Verified(header=header, payload=payload)
