"""Gate tokens: Ed25519 compact JWS that anyone with the public key verifies offline.

A token signs and verifies; an altered payload or signature, or a token from another key, does not;
the public key served by the API verifies tokens (as PEM and as JWK, also with nothing but the
`cryptography` package); `manage.py verify_gate_token` exits 0 / non-zero; and without a key
outside the embedded demo the gate answers nothing (503) rather than unsigned.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.models import AuditEvent
from governance.signoff import gate, tokens
from tests.commands import manage_py
from tests.signoff_factories import new_signing_key_pem

PAYLOAD = {"iss": "keel", "jti": "0f3c", "allowed": True, "decision": "allowed", "model": "fraud-model", "version": "3"}


@pytest.fixture
def key_pem(settings):
    pem = new_signing_key_pem()
    settings.KEEL_GATE_SIGNING_KEY = pem
    tokens._private_key.cache_clear()
    yield pem
    tokens._private_key.cache_clear()


def b64url_json(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_a_token_signs_and_verifies_with_keels_key(key_pem):
    token = tokens.sign(PAYLOAD)

    signature_part = token.split(".")[2]
    verified = tokens.verify(token)
    assert verified.payload == PAYLOAD
    assert verified.header == {"alg": "EdDSA", "typ": "keel-gate+jwt", "kid": tokens.key_id(tokens.public_key())}
    assert len(tokens.b64url_decode(signature_part)) == 64
    assert "=" not in token  # base64url without padding, as JWS wants


def test_an_altered_payload_fails(key_pem):
    header, _, signature = tokens.sign(PAYLOAD).split(".")
    forged = f"{header}.{b64url_json({**PAYLOAD, 'allowed': True, 'version': '4'})}.{signature}"
    with pytest.raises(tokens.TokenError, match="signature does not match"):
        tokens.verify(forged)


def test_an_altered_signature_fails(key_pem):
    header, payload, signature = tokens.sign(PAYLOAD).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(tokens.TokenError, match="signature does not match"):
        tokens.verify(f"{header}.{payload}.{flipped}")


def test_a_token_from_another_key_fails(key_pem, settings):
    ours = tokens.sign(PAYLOAD)
    settings.KEEL_GATE_SIGNING_KEY = new_signing_key_pem()
    theirs = tokens.sign(PAYLOAD)
    settings.KEEL_GATE_SIGNING_KEY = key_pem

    with pytest.raises(tokens.TokenError, match="was signed by key"):
        tokens.verify(theirs)
    # Without the kid hint, the signature check alone refuses it too.
    _, payload, signature = theirs.split(".")
    no_kid = b64url_json({"alg": "EdDSA", "typ": "keel-gate+jwt"})
    with pytest.raises(tokens.TokenError, match="signature does not match"):
        tokens.verify(f"{no_kid}.{payload}.{signature}")
    assert tokens.verify(ours).payload == PAYLOAD


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not-a-token", "three dot-separated parts"),
        ("a.b.c", "not valid base64url JSON"),
        (f"{b64url_json({'alg': 'none'})}.{b64url_json(PAYLOAD)}.", "not signed with EdDSA"),
        (f"{b64url_json({'alg': 'HS256'})}.{b64url_json(PAYLOAD)}.c2ln", "not signed with EdDSA"),
    ],
    ids=["no-dots", "garbage", "alg-none", "alg-hs256"],
)
def test_malformed_and_unsigned_tokens_fail(key_pem, token, message):
    with pytest.raises(tokens.TokenError, match=message):
        tokens.verify(token)


def test_the_key_may_be_given_as_the_base64_of_its_seed(settings):
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    settings.KEEL_GATE_SIGNING_KEY = base64.b64encode(seed).decode()
    token = tokens.sign(PAYLOAD)
    assert tokens.verify(token, private.public_key()).payload == PAYLOAD


@pytest.mark.parametrize("value", ["not base64 at all!", base64.b64encode(b"short").decode()], ids=["junk", "short"])
def test_a_malformed_key_is_reported_as_missing(settings, value):
    settings.KEEL_GATE_SIGNING_KEY = value
    with pytest.raises(tokens.SigningKeyMissing):
        tokens.sign(PAYLOAD)


# --- the public key, served and used offline -------------------------------------------------------


@pytest.mark.django_db
def test_the_public_key_endpoint_serves_a_pem_and_a_jwk_that_verify_a_token(client, key_pem):
    token = tokens.sign(PAYLOAD)

    response = client.get("/api/v1/gate/public-key")  # no login: auditors verify offline

    assert response.status_code == 200
    doc = response.json()
    assert (doc["alg"], doc["jwk"]["kty"], doc["jwk"]["crv"], doc["jwk"]["alg"]) == ("EdDSA", "OKP", "Ed25519", "EdDSA")
    assert doc["kid"] == doc["jwk"]["kid"] == json.loads(tokens.b64url_decode(token.split(".")[0]))["kid"]
    assert doc["public_key_pem"] == public_pem(key_pem)
    assert tokens.verify(token, tokens.load_public_key(doc["public_key_pem"])).payload == PAYLOAD
    assert tokens.verify(token, tokens.load_public_key(doc["jwk"]["x"])).payload == PAYLOAD
    assert "d" not in doc["jwk"]  # the private part never leaves


@pytest.mark.django_db
def test_a_token_verifies_with_nothing_but_the_cryptography_package(client, key_pem):
    """What the README's offline snippet does: no Keel code involved."""
    token = tokens.sign(PAYLOAD)
    x = client.get("/api/v1/gate/public-key").json()["jwk"]["x"]

    def unb64(s: str) -> bytes:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    header, payload, signature = token.split(".")
    key = Ed25519PublicKey.from_public_bytes(unb64(x))
    key.verify(unb64(signature), f"{header}.{payload}".encode())  # raises if not authentic
    assert json.loads(unb64(payload)) == PAYLOAD
    with pytest.raises(InvalidSignature):
        key.verify(unb64(signature), f"{header}.{b64url_json({**PAYLOAD, 'allowed': False})}".encode())


# --- manage.py verify_gate_token ------------------------------------------------------------------


def test_verify_gate_token_accepts_a_valid_token_and_prints_the_decision(key_pem, capsys):
    exp = int(time.time()) + 600
    call_command("verify_gate_token", tokens.sign({**PAYLOAD, "exp": exp}))
    out = capsys.readouterr().out
    assert json.loads(out[: out.rindex("}") + 1]) == {**PAYLOAD, "exp": exp}
    assert "VALID signature" in out
    assert "decision ALLOWED; token fresh." in out


def test_verify_gate_token_refuses_a_tampered_token(key_pem):
    header, _, signature = tokens.sign(PAYLOAD).split(".")
    with pytest.raises(CommandError, match="INVALID: The signature does not match"):
        call_command("verify_gate_token", f"{header}.{b64url_json({**PAYLOAD, 'allowed': True, 'x': 1})}.{signature}")


def test_verify_gate_token_with_a_public_key_file(key_pem, tmp_path, capsys):
    path = tmp_path / "gate.pem"
    path.write_text(public_pem(key_pem))
    token = tokens.sign(PAYLOAD)
    call_command("verify_gate_token", token, public_key=str(path))
    assert "VALID signature" in capsys.readouterr().out

    other = tmp_path / "other.pem"
    other.write_text(public_pem(new_signing_key_pem()))
    with pytest.raises(CommandError, match="INVALID"):
        call_command("verify_gate_token", token, public_key=str(other))


def test_verify_gate_token_fails_an_expired_token_only_when_asked(key_pem, capsys):
    token = tokens.sign({**PAYLOAD, "exp": int(time.time()) - 10})
    call_command("verify_gate_token", token)
    assert "token expired." in capsys.readouterr().out
    with pytest.raises(CommandError, match="expired"):
        call_command("verify_gate_token", token, require_fresh=True)


def test_verify_gate_token_exit_status_from_the_shell(key_pem, tmp_path):
    """As a pipeline runs it: the public key in a file, no signing key, exit 0 or 1."""
    key_file = tmp_path / "gate.pem"
    key_file.write_text(public_pem(key_pem))
    token = tokens.sign(PAYLOAD)
    header, _, signature = token.split(".")
    tampered = f"{header}.{b64url_json({**PAYLOAD, 'model': 'other'})}.{signature}"
    env = {**os.environ, "KEEL_GATE_SIGNING_KEY": "", "KEEL_EMBEDDED": "true"}

    def run(t: str) -> subprocess.CompletedProcess:
        return manage_py("verify_gate_token", t, "--public-key", str(key_file), env=env)

    ok, bad = run(token), run(tampered)
    assert (ok.returncode, bad.returncode) == (0, 1), (ok.stderr, bad.stderr)
    assert "VALID signature" in ok.stdout
    assert "INVALID" in bad.stderr


# --- no key: no answer --------------------------------------------------------------------------------


@pytest.fixture
def no_key(settings):
    settings.KEEL_GATE_SIGNING_KEY = ""
    settings.EMBEDDED = False
    tokens._private_key.cache_clear()
    yield
    tokens._private_key.cache_clear()


def test_without_a_key_outside_the_embedded_demo_signing_is_refused(no_key):
    with pytest.raises(tokens.SigningKeyMissing, match="set KEEL_GATE_SIGNING_KEY"):
        tokens.sign(PAYLOAD)


@pytest.mark.django_db
def test_without_a_key_the_gate_answers_nothing_and_records_nothing(no_key, team_lead):
    events = AuditEvent.objects.count()
    with pytest.raises(tokens.SigningKeyMissing):
        gate.evaluate(user=team_lead, registry="r", model="m", version="1", environment="production")
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_without_a_key_the_gate_api_and_the_public_key_answer_503(no_key, client, team_lead):
    client.force_login(team_lead)
    events = AuditEvent.objects.count()

    answer = client.get("/api/v1/gate", {"registry": "r", "model": "m", "version": "1", "environment": "production"})
    public = client.get("/api/v1/gate/public-key")

    assert answer.status_code == public.status_code == 503
    assert answer.json()["code"] == public.json()["code"] == "gate_unavailable"
    assert "KEEL_GATE_SIGNING_KEY" in answer.json()["detail"]
    assert AuditEvent.objects.count() == events


def test_the_embedded_demo_makes_its_key_once_readable_only_by_its_owner(settings, tmp_path):
    settings.KEEL_GATE_SIGNING_KEY = ""
    settings.EMBEDDED = True
    settings.KEEL_GATE_SIGNING_KEY_FILE = str(tmp_path / "var" / "gate.pem")
    tokens._private_key.cache_clear()
    try:
        token = tokens.sign(PAYLOAD)
        path = Path(settings.KEEL_GATE_SIGNING_KEY_FILE)
        assert path.stat().st_mode & 0o777 == 0o600
        first = path.read_text()
        tokens._private_key.cache_clear()
        assert tokens.verify(token).payload == PAYLOAD  # the same key, read back from the file
        assert path.read_text() == first
    finally:
        tokens._private_key.cache_clear()
