"""The offline-verifiable audit export: a bundle an auditor checks without Keel, its database or its server.

A bundle (a folder, or the same files in a .zip) holds:
  events.jsonl            one event per line: the hashed fields, prev_hash and hash, in seq order
  checkpoints.jsonl       the signed checkpoints within the events' range, one freshly signed at the last event
  audit-public-key.pem    the audit key's public half (compare its id with the one Keel publishes)
  manifest.json           format, range, counts, key id, when and by what it was exported
  verify_audit_bundle.py  the stand-alone verifier: bundle_verifier.py itself, the code Keel hashes with
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Max, Min
from django.utils import timezone

from ..models import AuditCheckpoint, AuditEvent
from . import bundle_verifier as bv
from .checkpoints import ChainBroken, checkpoint_document, checkpoint_sign, key_id, public_key_pem
from .hashing import event_fields

CHUNK = 2000
EMPTY = "No audit events in that range: nothing to export."


class NothingToExport(Exception):
    """The range holds no event."""


@dataclass(frozen=True)
class ExportSummary:
    events: int
    first_seq: int
    last_seq: int
    checkpoints: int
    key_id: str
    warning: str = ""


def _range(since: dt.datetime | None, until: dt.datetime | None) -> tuple[int, int]:
    """The first and last seq of the events in [since, until): one contiguous run of the chain."""
    qs = AuditEvent.objects.all()
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    bounds = qs.aggregate(first=Min("seq"), last=Max("seq"))
    if bounds["first"] is None:
        raise NothingToExport(EMPTY)
    return bounds["first"], bounds["last"]


def _event_line(event: AuditEvent) -> bytes:
    doc = event_fields(event) | {"prev_hash": event.prev_hash, "hash": event.hash}
    return bv.canonical_json(doc) + b"\n"


def _files(target, as_zip: bool):
    """open(name) for each file of the bundle, in a folder, or in a .zip (a path or an open binary file)."""
    if as_zip:
        archive = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED)

        @contextlib.contextmanager
        def open_zip(name: str):
            with archive.open(name, "w") as fh:
                yield fh

        return archive, open_zip
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    return contextlib.nullcontext(), lambda name: (folder / name).open("wb")


def export_bundle(*, target, since=None, until=None, as_zip: bool = False) -> ExportSummary:
    """Write the bundle of the events in [since, until) to `target` (a folder, or a .zip path or binary file).

    A checkpoint is signed at the last exported event first, so the bundle's tail is covered; if the chain
    does not re-hash since the last checkpoint, none is signed and the bundle says why (the verifier will
    then name the break too)."""
    first, last = _range(since, until)
    warning = ""
    try:
        checkpoint_sign(seq=last)
    except ChainBroken as exc:
        warning = str(exc)
    checkpoints, seen = [], set()
    for cp in AuditCheckpoint.objects.filter(seq__gte=first, seq__lte=last).order_by("seq", "id"):
        if cp.seq not in seen:
            seen.add(cp.seq)
            checkpoints.append(checkpoint_document(cp))
    kid = key_id()
    manifest = {
        "format": bv.BUNDLE_FORMAT,
        "first_seq": first,
        "last_seq": last,
        "events": last - first + 1,
        "checkpoints": len(checkpoints),
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "exported_at": timezone.now().astimezone(dt.UTC).isoformat(),
        "key_id": kid,
        "verify": f"python {bv.VERIFIER_FILE} <this bundle> --public-key <the audit key from Keel>",
        "warning": warning,
    }
    container, open_file = _files(target, as_zip)
    with container:
        with open_file(bv.EVENTS_FILE) as fh:
            events = AuditEvent.objects.filter(seq__gte=first, seq__lte=last).order_by("seq")
            for event in events.iterator(chunk_size=CHUNK):
                fh.write(_event_line(event))
        with open_file(bv.CHECKPOINTS_FILE) as fh:
            fh.writelines(bv.canonical_json(cp) + b"\n" for cp in checkpoints)
        with open_file(bv.PUBLIC_KEY_FILE) as fh:
            fh.write(public_key_pem().encode())
        with open_file(bv.MANIFEST_FILE) as fh:
            fh.write(json.dumps(manifest, indent=2).encode() + b"\n")
        with open_file(bv.VERIFIER_FILE) as fh:
            fh.write(Path(bv.__file__).read_bytes())
    return ExportSummary(last - first + 1, first, last, len(checkpoints), kid, warning)
