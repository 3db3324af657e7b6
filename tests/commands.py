"""Running manage.py as a deployment does: a fresh Python process whose settings come from `env`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.conf import settings

MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"


def manage_py(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`manage.py *args` in a subprocess (from the project folder, output captured as text); the exit
    status is the test's to assert."""
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), *args],
        env=env,
        cwd=MANAGE_PY.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
