"""Services send tasks by name: that must work in a process that never imported a tasks module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
import sys
assert "projects.tasks" not in sys.modules and "governance.tasks" not in sys.modules
from core.queue import registered_task
print(registered_task("projects.tasks.sync_registry").name, registered_task("governance.tasks.signoff_write_back").name)
"""


def test_a_task_is_found_by_name_in_a_process_that_never_imported_tasks(tmp_path):
    env = {"KEEL_EMBEDDED": "true", "KEEL_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["projects.tasks.sync_registry", "governance.tasks.signoff_write_back"]
