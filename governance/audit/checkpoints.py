"""Signed checkpoints of the audit chain: "its first `seq` events end in `hash`", signed with the audit key.

The chain head's MAC (chain.py) is keyed with SECRET_KEY, so only the server can check it. A checkpoint is
signed with an Ed25519 key whose public half anyone may hold, so an auditor can check an export
(export.py) without trusting the server. The message format is bundle_verifier.checkpoint_message, the
one the stand-alone verifier checks.

A checkpoint is only signed over events that chain, re-hashed, onto the previous checkpoint (or onto the
genesis hash): the key never vouches for a chain that was rewritten since it last signed.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import signing_keys

from ..models import GENESIS_HASH, AuditChainHead, AuditCheckpoint, AuditEvent
from .bundle_verifier import checkpoint_message
from .bundle_verifier import key_id as raw_key_id
from .hashing import compute_hash, event_fields, utc_time

VARIABLE = "KEEL_AUDIT_SIGNING_KEY"
NO_KEY = (
    "The audit trail has no signing key: set KEEL_AUDIT_SIGNING_KEY to an Ed25519 private key (README: 'Audit export')."
)
BROKEN = "No checkpoint signed: the audit chain breaks at seq {seq} ({problem}); run manage.py verify_audit."
NOTHING = "No checkpoint signed: the audit chain has no event at seq {seq}."


class AuditKeyMissing(Exception):
    """No audit signing key is configured: no checkpoint can be signed."""


class ChainBroken(Exception):
    """The events since the last checkpoint do not chain: the key will not vouch for them."""


@lru_cache(maxsize=4)
def _private_key(configured: str, embedded: bool, path: str) -> Ed25519PrivateKey:
    if configured:
        return signing_keys.load_private(configured, variable=VARIABLE, error=AuditKeyMissing)
    if embedded:
        return signing_keys.embedded_key_file(Path(path), variable=VARIABLE, error=AuditKeyMissing)
    raise AuditKeyMissing(NO_KEY)


def private_key() -> Ed25519PrivateKey:
    return _private_key(settings.KEEL_AUDIT_SIGNING_KEY, settings.EMBEDDED, settings.KEEL_AUDIT_SIGNING_KEY_FILE)


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_pem() -> str:
    pem = public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def key_id() -> str:
    return raw_key_id(public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _check_since(previous: AuditCheckpoint | None, seq: int) -> str:
    """Re-hash the events after `previous` up to `seq`; the hash at `seq` (ChainBroken if they do not chain)."""
    start, prev_hash = (previous.seq, previous.hash) if previous is not None else (0, GENESIS_HASH)
    if start:
        at_start = AuditEvent.objects.filter(seq=start).values_list("hash", flat=True).first()
        if at_start != prev_hash:
            raise ChainBroken(BROKEN.format(seq=start, problem="it differs from its signed checkpoint"))
    expected = start + 1
    for event in AuditEvent.objects.filter(seq__gt=start, seq__lte=seq).order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected:
            raise ChainBroken(BROKEN.format(seq=expected, problem="the event is missing"))
        if event.prev_hash != prev_hash or compute_hash(prev_hash, event_fields(event)) != event.hash:
            raise ChainBroken(BROKEN.format(seq=event.seq, problem="its hash or link does not match"))
        prev_hash, expected = event.hash, expected + 1
    if expected != seq + 1:
        raise ChainBroken(NOTHING.format(seq=seq))
    return prev_hash


def checkpoint_sign(*, seq: int | None = None) -> AuditCheckpoint | None:
    """Sign a checkpoint at `seq` (default: the chain's head); None when the newest checkpoint is already
    there or the chain is empty. The worker calls it on its interval, export_audit on demand."""
    key = private_key()  # AuditKeyMissing before any work
    with transaction.atomic():
        if seq is None:
            seq = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
            if not seq:
                return None
        previous = AuditCheckpoint.objects.filter(seq__lte=seq).order_by("-seq", "-id").first()
        if previous is not None and previous.seq == seq:
            at_seq = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
            if at_seq != previous.hash:
                raise ChainBroken(BROKEN.format(seq=seq, problem="it differs from its signed checkpoint"))
            return None
        hash_ = _check_since(previous, seq)
        signed_at = utc_time(timezone.now())
        signature = key.sign(checkpoint_message(seq, hash_, signed_at))
        return AuditCheckpoint.objects.create(
            seq=seq, hash=hash_, signed_at=signed_at, key_id=key_id(), signature=base64.b64encode(signature).decode()
        )


def checkpoint_document(checkpoint: AuditCheckpoint) -> dict:
    """A checkpoint as the export writes it (one JSON line)."""
    return {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "signed_at": checkpoint.signed_at,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }
