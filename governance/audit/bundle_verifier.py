#!/usr/bin/env python3
"""The audit chain's hashing rule, and the stand-alone verifier of an exported audit bundle.

This module is the one home of how an audit event is hashed and how a checkpoint is signed. Keel imports
it (governance/audit/hashing.py, checkpoints.py), and `manage.py export_audit` ships this very file in
every bundle as verify_audit_bundle.py, so an auditor runs the same code Keel hashes with, with nothing
but Python 3.11+ and the `cryptography` package: no Django, no database, no Keel install, no trust in
Keel's server. Hence: standard library and `cryptography` only, never an import of Keel.

    python verify_audit_bundle.py BUNDLE [--public-key audit-key.pem]

BUNDLE is the export's folder or .zip. Exit 0: intact; 1: a break, named by the event's seq; 2: the
bundle cannot be read. Without --public-key the bundle's own key is used and its id printed: compare it
with the key id Keel publishes (the audit page), or a bundle re-signed with another key would pass.

hash = SHA-256("keel-audit-v1" 0x00 prev_hash 0x00 canonical-JSON(event fields)), the canonical JSON
UTF-8 with sorted keys and no spaces, times UTC ISO-8601 with microseconds. A checkpoint (Certificate
Transparency style) says "the chain's first `seq` events end in `hash`", signed with Ed25519 over
CHECKPOINT_PREFIX + "<seq>\\n<hash>\\n<signed_at>\\n".
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HASH_PREFIX = b"keel-audit-v1\x00"
GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq", "occurred_at", "actor_id", "actor_repr", "action", "object_type", "object_id",
    "before", "after", "request_id", "task_id", "hash_alg",
)  # fmt: skip
CHECKPOINT_PREFIX = b"keel-audit-checkpoint-v1\n"
BUNDLE_FORMAT = "keel-audit-bundle-v1"
EVENTS_FILE = "events.jsonl"
CHECKPOINTS_FILE = "checkpoints.jsonl"
MANIFEST_FILE = "manifest.json"
PUBLIC_KEY_FILE = "audit-public-key.pem"
VERIFIER_FILE = "verify_audit_bundle.py"

# What the verifier says, by kind of break (tests reuse these).
ALTERED = "event seq {seq} was altered: its hash does not match its content"
DELETED = "event seq {seq} is missing (deleted)"
INSERTED = "event seq {seq} appears twice (an event was inserted)"
UNLINKED = "event seq {seq} does not link to the event before it (an event was inserted or removed)"
REORDERED = "event seq {seq} comes before seq {expected} (events reordered)"
OTHER_KEY = "the checkpoint at seq {seq} is not signed by the audit key {kid} (signed by another key, or altered)"
REWRITTEN = "event seq {seq} differs from the signed checkpoint at its seq (chain rewritten)"
TAIL_DELETED = "event seq {seq} is missing: a checkpoint covers up to seq {upto}"
UNCOVERED = "the events up to seq {seq} are not covered by a signed checkpoint"

# One encoder for every call: json.dumps with these options would build a new one each time.
CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


if json.encoder.c_make_encoder is not None:
    # What CANONICAL_ENCODER.encode runs, built once instead of per call (Keel hashes thousands of events a
    # sync). No circular-reference markers: the values hashed are parsed from JSON, which has no cycles.
    _encode = json.encoder.c_make_encoder(
        None, CANONICAL_ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )

    def canonical_text(value) -> str:
        """CANONICAL_ENCODER.encode(value)."""
        return "".join(_encode(value, 0))
else:  # pragma: no cover - a Python without the _json accelerator
    canonical_text = CANONICAL_ENCODER.encode


def canonical_json(fields: dict) -> bytes:
    return canonical_text(fields).encode()


def compute_hash(prev_hash: str, fields: dict) -> str:
    return hashlib.sha256(HASH_PREFIX + prev_hash.encode() + b"\x00" + canonical_json(fields)).hexdigest()


def checkpoint_message(seq: int, hash_: str, signed_at: str) -> bytes:
    return CHECKPOINT_PREFIX + f"{seq}\n{hash_}\n{signed_at}\n".encode()


def key_id(public_raw: bytes) -> str:
    """A key's short name: the first 16 hex digits of SHA-256 of its raw 32 bytes (as the gate's)."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


# --- verification of a bundle ------------------------------------------------------------------------


class BundleUnreadable(Exception):
    """The bundle is missing a file or is not the format this verifier reads."""


@dataclass
class Result:
    ok: bool
    problem: str = ""
    bad_seq: int | None = None
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    key_id: str = ""
    checkpoints: int = 0
    notes: list[str] = field(default_factory=list)


def _open(bundle: Path):
    """A reader of the bundle's files by name, from its folder or its .zip."""
    if bundle.is_dir():

        def read(name: str) -> bytes:
            path = bundle / name
            if not path.is_file():
                raise BundleUnreadable(f"{name} is missing from the bundle")
            return path.read_bytes()

        return read
    if zipfile.is_zipfile(bundle):
        archive = zipfile.ZipFile(bundle)
        names = {Path(n).name: n for n in archive.namelist()}

        def read(name: str) -> bytes:
            if name not in names:
                raise BundleUnreadable(f"{name} is missing from the bundle")
            return archive.read(names[name])

        return read
    raise BundleUnreadable(f"{bundle} is neither a folder nor a .zip")


def _json_lines(data: bytes, name: str) -> list[dict]:
    out = []
    for number, line in enumerate(io.StringIO(data.decode("utf-8")), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise BundleUnreadable(f"{name} line {number} is not JSON: {exc}") from exc
        if not isinstance(item, dict):
            raise BundleUnreadable(f"{name} line {number} is not a JSON object")
        out.append(item)
    return out


def _load_public_key(pem: bytes):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise BundleUnreadable("the public key is not an Ed25519 key")
    return key


def _raw(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _checkpoint_problem(cp: dict, key, kid: str) -> str:
    """Why a checkpoint's signature does not hold under `key` ('' when it does)."""
    from cryptography.exceptions import InvalidSignature

    try:
        message = checkpoint_message(int(cp["seq"]), str(cp["hash"]), str(cp["signed_at"]))
        signature = base64.b64decode(cp["signature"], validate=True)
    except (KeyError, TypeError, ValueError):
        return f"the checkpoint at seq {cp.get('seq')} is malformed"
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return OTHER_KEY.format(seq=cp["seq"], kid=kid)
    if cp.get("key_id") != kid:  # the signature holds: only the label was changed
        return f"the checkpoint at seq {cp['seq']} names key {cp.get('key_id')}, not {kid}"
    return ""


def _fail(result: Result, seq: int | None, problem: str) -> Result:
    result.ok, result.bad_seq, result.problem = False, seq, problem
    return result


def verify_bundle(bundle: Path, public_key_pem: bytes | None = None) -> Result:
    """Check every checkpoint's signature, then walk the events in file order: each seq the next one,
    each prev_hash the hash before it, each hash recomputed from the event's fields, each checkpoint's
    hash the event's at its seq, and the last event covered by a checkpoint. The first break fails."""
    read = _open(bundle)
    manifest = json.loads(read(MANIFEST_FILE))
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleUnreadable(f"not a {BUNDLE_FORMAT} bundle (format {manifest.get('format')!r})")
    bundled_key = _load_public_key(read(PUBLIC_KEY_FILE))
    key = bundled_key
    if public_key_pem is not None:
        key = _load_public_key(public_key_pem)
    kid = key_id(_raw(key))
    result = Result(ok=True, key_id=kid)
    if public_key_pem is None:
        result.notes.append(f"used the bundle's own public key {kid}: compare it with the key id Keel publishes")
    elif _raw(bundled_key) != _raw(key):
        return _fail(result, None, f"the bundle's public key {key_id(_raw(bundled_key))} is not the given key {kid}")

    checkpoints = _json_lines(read(CHECKPOINTS_FILE), CHECKPOINTS_FILE)
    for cp in checkpoints:
        if problem := _checkpoint_problem(cp, key, kid):
            return _fail(result, cp.get("seq"), problem)
    signed = {int(cp["seq"]): cp for cp in checkpoints}
    result.checkpoints = len(signed)

    events = _json_lines(read(EVENTS_FILE), EVENTS_FILE)
    present = {e.get("seq") for e in events}
    expected = manifest.get("first_seq") or (events[0].get("seq") if events else 1)
    prev_hash = GENESIS_HASH if expected == 1 else None  # a --since bundle starts from its first event's link
    if expected != 1:
        result.notes.append(f"starts at seq {expected}: its link to seq {expected - 1} is anchored by the checkpoints")
    last_seen = None
    for event in events:
        seq = event.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            return _fail(result, None, f"an event after seq {last_seen} has no integer seq")
        if seq == last_seen:
            return _fail(result, seq, INSERTED.format(seq=seq))
        if seq != expected:
            if expected in present:
                return _fail(result, seq, REORDERED.format(seq=seq, expected=expected))
            if seq > expected:
                return _fail(result, expected, DELETED.format(seq=expected))
            return _fail(result, seq, f"event seq {seq} is out of place after seq {last_seen} (inserted)")
        if prev_hash is not None and event.get("prev_hash") != prev_hash:
            return _fail(result, seq, UNLINKED.format(seq=seq))
        try:
            fields = {name: event[name] for name in HASHED_FIELDS}
        except KeyError as exc:
            return _fail(result, seq, f"event seq {seq} lacks the field {exc.args[0]} (altered)")
        if compute_hash(event.get("prev_hash", ""), fields) != event.get("hash"):
            return _fail(result, seq, ALTERED.format(seq=seq))
        if seq in signed and signed[seq]["hash"] != event["hash"]:
            return _fail(result, seq, REWRITTEN.format(seq=seq))
        prev_hash, last_seen, expected = event["hash"], seq, seq + 1
        result.events += 1
        if result.first_seq is None:
            result.first_seq = seq
    result.last_seq = last_seen
    last = last_seen or 0
    beyond = [s for s in signed if s > last]
    if beyond:
        return _fail(result, last + 1, TAIL_DELETED.format(seq=last + 1, upto=max(beyond)))
    if isinstance(manifest.get("last_seq"), int) and manifest["last_seq"] > last:
        return _fail(result, last + 1, TAIL_DELETED.format(seq=last + 1, upto=manifest["last_seq"]))
    if events and last not in signed:
        return _fail(result, last, UNCOVERED.format(seq=last))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Keel audit bundle offline.")
    parser.add_argument("bundle", type=Path, help="the export's folder or .zip")
    parser.add_argument("--public-key", type=Path, help="the audit public key (PEM) obtained from Keel out of band")
    args = parser.parse_args(argv)
    try:
        pem = args.public_key.read_bytes() if args.public_key else None
        result = verify_bundle(args.bundle, pem)
    except (BundleUnreadable, OSError, ValueError, zipfile.BadZipFile) as exc:
        print(f"UNREADABLE: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if not result.ok:
        print(f"FAILED at seq {result.bad_seq}: {result.problem}", file=sys.stderr)
        return 1
    span = f"seq {result.first_seq}-{result.last_seq}" if result.events else "no events"
    signed = f"{result.checkpoints} checkpoints signed by key {result.key_id}"
    print(f"OK: {result.events} events ({span}) intact; {signed}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
