"""Run one ROI file import in a process of its own and report what it cost, as one line of JSON.

    python -m tests.spreadsheet_probe <file name> <path> [seconds limit] [columns limit]

A fresh process, so the peak resident set it reports (the kernel's high-water mark, VmHWM, after the
import minus before it, the file already in memory) is this import's alone. (Not getrusage's ru_maxrss:
Linux carries it across exec, so a child of a 300 MB pytest starts at 300 MB.) Settings are configured by
hand with the defaults of config/settings.py: the import needs no database and no app registry.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def high_water_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def main(name: str, path: str, seconds: float = 10.0, columns: float = 50) -> dict:
    from django.conf import settings

    settings.configure(
        KEEL_ROI_IMPORT_MAX_BYTES=2 * 1024 * 1024,
        KEEL_IMPORT_MAX_EXPANDED_BYTES=16 * 1024 * 1024,
        KEEL_IMPORT_MAX_RATIO=100,
        KEEL_IMPORT_MAX_COLUMNS=int(columns),
        KEEL_IMPORT_MAX_SECONDS=seconds,
    )
    from projects.roi import importer

    data = Path(path).read_bytes()
    before = high_water_kb()
    started = time.monotonic()
    try:
        outcome = {"rows": len(importer.read_bytes(name, data))}
    except importer.RoiFileError as exc:
        outcome = {"refused": exc.message}
    except Exception as exc:  # any other failure is what the tests look for: report it, do not raise
        outcome = {"crashed": f"{type(exc).__name__}: {str(exc)[:200]}"}
    seconds_taken = time.monotonic() - started
    peak_kb = high_water_kb() - before
    return {**outcome, "seconds": round(seconds_taken, 3), "peak_mb": round(peak_kb / 1024, 1), "bytes": len(data)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], *(float(a) for a in sys.argv[3:]))))
