"""Every KEEL_* variable Keel reads from the environment is documented in .env.example.

The scan covers the application (config/, core/, projects/, governance/), scripts/, deploy/ and the Makefile:
Python reads through django-environ (`env.int("KEEL_…")`) or os.environ, and shell/Makefile reads
(`${KEEL_…}`, `$KEEL_…`) or command-line assignments (`KEEL_EMBEDDED=true cmd`) that hand one to Keel.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = r"(KEEL_[A-Z0-9_]*[A-Z0-9])"  # a prefix such as "KEEL_REGISTRY_" is not a variable
PYTHON_READS = [
    # env("KEEL_X"), env.int("KEEL_X", ...), environ.Env().str("KEEL_X"), os.environ.get / os.getenv /
    # os.environ.setdefault("KEEL_X", ...)
    re.compile(
        r"""\b(?:env(?:\.\w+)?|Env\(\)\.\w+|environ\.get|getenv|environ\.setdefault)\(\s*["']""" + NAME + "[\"']"
    ),
    re.compile(r"""\benviron\[\s*["']""" + NAME + "[\"']\\s*\\]"),
]
SHELL_READS = [
    re.compile(r"\$\{?" + NAME),  # ${KEEL_X:-default}, $KEEL_X
    re.compile(r"(?:^|[\s;(])" + NAME + "="),  # KEEL_X=value cmd, export KEEL_X=...
]


def sources() -> list[Path]:
    folders = ("config", "core", "projects", "governance", "scripts", "deploy")
    files = [p for folder in folders for p in (ROOT / folder).rglob("*")]
    files.append(ROOT / "Makefile")
    return sorted(p for p in files if p.is_file() and (p.suffix in (".py", ".sh") or p.name == "Makefile"))


def names_read(path: Path) -> set[str]:
    text = path.read_text(errors="replace")
    patterns = PYTHON_READS if path.suffix == ".py" else SHELL_READS
    return {m.group(1) for pattern in patterns for m in pattern.finditer(text)}


def documented() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {m.group(1) for line in lines if (m := re.match(NAME + "=", line))}


def test_the_scan_finds_reads_of_every_kind():
    """A scan that finds nothing would pass whatever .env.example says."""
    found = {name for path in sources() for name in names_read(path)}
    assert {
        "KEEL_EMBEDDED",  # env.bool in settings, os.environ.setdefault in testenv, Makefile assignments
        "KEEL_VAR_DIR",  # environ.Env().str(...) in settings, ${KEEL_VAR_DIR:-var} in run_embedded.sh
        "KEEL_PORT",  # scripts/run_embedded.sh, and settings for the default KEEL_BASE_URL
        "KEEL_OBLIGATIONS_TICK_SECONDS",
        "KEEL_TASK_TIME_LIMITS",
        "KEEL_GATE_SIGNING_KEY",  # os.environ.get: django-environ would expand a leading "$"
    } <= found
    assert "KEEL_REGISTRY_" not in found
    assert "KEEL_MODEL_FACET" not in found  # a constant named KEEL_*, not an environment variable


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('X = env.int("KEEL_A_SECONDS", default=3)', {"KEEL_A_SECONDS"}),
        ("X = os.environ.get('KEEL_B', '1')", {"KEEL_B"}),
        ('os.environ["KEEL_C"] = "x"', {"KEEL_C"}),
        ('PREFIXES = env.list("P", default=["KEEL_REGISTRY_"])', set()),
        ('KEEL_D = "not read from the environment"', set()),
    ],
)
def test_the_python_patterns(tmp_path, line, expected):
    path = tmp_path / "module.py"
    path.write_text(line + "\n")
    assert names_read(path) == expected


def test_every_keel_variable_read_from_the_environment_is_in_env_example():
    missing = {}
    for path in sources():
        for name in names_read(path) - documented():
            missing.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert not missing, "KEEL_* variables read but not listed in .env.example: " + "; ".join(
        f"{name} (read in {', '.join(paths)})" for name, paths in sorted(missing.items())
    )
