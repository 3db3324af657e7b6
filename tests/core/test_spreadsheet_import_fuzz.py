"""Random damage to valid import files: whatever the bytes, an importer answers rows or its own refusal
(a message for the form), never another exception (a 500), and quickly.

Seeded, so a failure names the seed that reproduces it. Damage is done at two levels: the archive's
bytes (mostly caught by zip's CRC) and the XML inside it, re-zipped (which reaches the sheet reader).
"""

from __future__ import annotations

import io
import random
import time
import tracemalloc
import zipfile

import pytest

from governance.compliance import inventory
from projects.roi import importer

EXAMPLES = 250  # per strategy
SECONDS_EACH = 2.0
PEAK_MB = 50  # traced Python allocations over a whole strategy


def damage(data: bytes, rng: random.Random) -> bytes:
    """One random edit of a byte string: flip bytes, cut it, insert noise, repeat or drop a slice."""
    data = bytearray(data)
    at = rng.randrange(len(data))
    edit = rng.choice(("flip", "cut", "noise", "repeat", "drop", "digits"))
    if edit == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif edit == "cut":
        del data[at:]
    elif edit == "noise":
        data[at:at] = rng.randbytes(rng.randint(1, 64))
    elif edit == "repeat":
        piece = data[at : at + rng.randint(1, 200)]
        data[at:at] = piece * rng.randint(2, 50)
    elif edit == "drop":
        del data[at : at + rng.randint(1, 200)]
    else:  # a number grown huge: row numbers, shared string indexes, style ids, cell values
        data[at:at] = str(rng.choice((2**31, 2**63, 10**400, 1048577, 16385))).encode()
    return bytes(data)


def damage_a_part(workbook: bytes, rng: random.Random) -> bytes:
    """The workbook with one of its XML parts damaged, re-zipped so that zip's own checks pass."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    name = rng.choice(sorted(parts))
    parts[name] = damage(parts[name], rng)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return out.getvalue()


def answer(read, data: bytes, refusal: type[Exception]) -> str:
    started = time.monotonic()
    try:
        read(data)
        outcome = "rows"
    except refusal:
        outcome = "refused"
    assert time.monotonic() - started < SECONDS_EACH
    return outcome


def workbook() -> bytes:
    """The ROI template with more rows: real openpyxl output (styles, shared strings, a date format)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(importer.template_xlsx("fraud-scoring")))
    sheet = book.active
    for i in range(20):
        sheet.append(["fraud-scoring", f"2025-{i % 12 + 1:02d}", "cost", "compute", "actual", 100 + i, "EUR", "",
                      f"note {i}"])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


STRATEGIES = {
    "xlsx-bytes": (lambda d, r: damage(d, r), workbook, lambda d: importer.read_bytes("roi.xlsx", d)),
    "xlsx-parts": (damage_a_part, workbook, lambda d: importer.read_bytes("roi.xlsx", d)),
    "roi-csv": (damage, lambda: importer.template_csv("fraud-scoring"), lambda d: importer.read_bytes("roi.csv", d)),
    "inventory-csv": (damage, lambda: inventory.template_csv().encode(), inventory.inventory_parse),
}


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_damaged_files_are_read_or_refused_never_crash(strategy):
    mutate, valid, read = STRATEGIES[strategy]
    refusal = inventory.InventoryRefused if strategy == "inventory-csv" else importer.RoiFileError
    original = valid()
    assert answer(read, original, refusal) == "rows"
    outcomes = {"rows": 0, "refused": 0}
    tracemalloc.start()
    try:
        for seed in range(EXAMPLES):
            data = mutate(original, random.Random(f"{strategy}-{seed}"))
            try:
                outcomes[answer(read, data, refusal)] += 1
            except Exception as exc:
                raise AssertionError(f"{strategy} seed {seed}: {type(exc).__name__}: {exc}") from exc
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_MB * 1024 * 1024
    # the damage is real: most examples are refused, and some still read
    assert outcomes["refused"] > EXAMPLES // 4, outcomes
