"""The shipped deployment files agree with each other: the compose file builds the Containerfile and runs
deploy/keel.sh's roles (one beat, several workers), the systemd units call the same script, and gunicorn's
configuration reads its knobs from the environment. No container runtime is needed (CI has none)."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KEEL_SH = DEPLOY / "keel.sh"


def keel_sh_roles() -> set[str]:
    """The commands deploy/keel.sh accepts: the labels of its `case`."""
    return set(re.findall(r"^([a-z]+)\)$", KEEL_SH.read_text(), flags=re.MULTILINE))


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def keel_services() -> dict[str, dict]:
    return {name: s for name, s in compose()["services"].items() if s.get("image") == "keel:latest"}


def test_keel_sh_knows_the_roles_and_refuses_anything_else():
    assert keel_sh_roles() == {"release", "web", "worker", "beat", "collectstatic"}
    assert os.access(KEEL_SH, os.X_OK)
    refused = subprocess.run([str(KEEL_SH), "serve"], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2
    assert "usage:" in refused.stderr


def test_compose_builds_the_containerfile_and_runs_each_keel_role_from_it():
    services = keel_services()
    assert set(services) == {"release", "web", "worker", "beat"}
    for name, service in services.items():
        assert (ROOT / "deploy" / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == (
            ROOT / "Containerfile"
        ), name
        [role, *_] = service["command"]
        assert role in keel_sh_roles(), name
        assert service["environment"]["KEEL_BEHIND_PROXY"] == "true", name
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:"), name
        assert service["environment"]["DATABASE_URL"].startswith("postgres://keel:"), name
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["beat"]["deploy"]["replicas"] == 1  # exactly one beat
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["release"] == {"condition": "service_completed_successfully"}
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert compose()["services"]["proxy"]["depends_on"]["web"] == {"condition": "service_healthy"}


def test_the_containerfile_enters_through_keel_sh_and_collects_static_files_at_build_time():
    text = (ROOT / "Containerfile").read_text()
    assert 'ENTRYPOINT ["/opt/keel/deploy/keel.sh"]' in text
    assert 'CMD ["web"]' in text
    assert "deploy/keel.sh collectstatic" in text
    assert "KEEL_STATIC_ROOT=/opt/keel/staticfiles" in text  # outside the data volume, /var/lib/keel
    assert "USER keel" in text


def test_the_systemd_units_run_keel_sh_roles_with_exactly_one_beat():
    units = {p.name: p.read_text() for p in (DEPLOY / "systemd").glob("*.service")}
    assert set(units) == {"keel-web.service", "keel-worker@.service", "keel-beat.service", "keel-release.service"}
    for name, text in units.items():
        [exec_start] = re.findall(r"^ExecStart=(.*)$", text, flags=re.MULTILINE)
        script, role, *_ = exec_start.split()
        assert (script, role in keel_sh_roles()) == ("/opt/keel/deploy/keel.sh", True), name
        assert "EnvironmentFile=/etc/keel/keel.env" in text, name
    assert "keel.sh worker %i" in units["keel-worker@.service"]  # the instance names the queues
    assert sum("keel.sh beat" in text for text in units.values()) == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"bind": "127.0.0.1:8000", "timeout": 60, "accesslog": "-", "preload_app": True}),
        (
            {"KEEL_WEB_BIND": "0.0.0.0:9000", "KEEL_WEB_WORKERS": "3", "KEEL_WEB_TIMEOUT": "30"},
            {"bind": "0.0.0.0:9000", "workers": 3, "timeout": 30, "control_socket_disable": True},
        ),
    ],
)
def test_gunicorn_config_reads_its_knobs_from_the_environment(monkeypatch, env, expected):
    for name in ("KEEL_WEB_BIND", "KEEL_WEB_WORKERS", "KEEL_WEB_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert {key: config[key] for key in expected} == expected
    assert config["workers"] >= 1
    assert config["max_requests"] > config["max_requests_jitter"] > 0


def test_the_example_environment_names_what_production_must_set():
    names = set(re.findall(r"^#?([A-Z_]+)=", (DEPLOY / "keel.env.example").read_text(), flags=re.MULTILINE))
    assert {"DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "KEEL_GATE_SIGNING_KEY", "DATABASE_URL", "REDIS_URL",
            "KEEL_BEHIND_PROXY"} <= names  # fmt: skip
    assert "deploy/keel.env" in (ROOT / ".gitignore").read_text()


def test_every_routed_task_goes_to_a_declared_queue_that_keel_sh_workers_consume_by_default():
    """A task routed to a queue no worker consumes would wait forever: the routes name declared queues
    only, and `keel.sh worker` without QUEUES consumes every declared one."""
    from django.conf import settings

    from config.celery import app

    declared = set(settings.CELERY_TASK_QUEUES)
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= declared
    assert app.amqp.router.route({}, "projects.tasks.sync_registry")["queue"].name == "registry"
    assert app.amqp.router.route({}, "core.tasks.heartbeat")["queue"].name == "celery"
    [default] = re.findall(r"queues=\$\{1:-([a-z,]+)\}", KEEL_SH.read_text())
    assert set(default.split(",")) == declared
