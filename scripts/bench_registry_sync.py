#!/usr/bin/env python
"""`make bench`: Keel's MLflow sync against a real MLflow server holding 2,000+ model versions.

One run, bounded (--budget, default 300 s):
  1. starts `mlflow server` (lean: one worker, job execution off) on a free 127.0.0.1 port in a
     temporary directory, and fills it over raw REST (POST, a few threads): --models registered
     models x --versions versions, with tags, descriptions, two aliases per model and a legacy stage;
  2. meanwhile builds a throwaway Keel database: SQLite under var/bench/ by default; with
     DATABASE_URL set, a separate database named <name>_bench_registry_sync on that server (created
     and dropped here, never the configured database itself);
  3. in each of --rounds rounds, side by side so that the load of the machine weighs on all alike: a
     bare paginated fetch of the same data over HTTP (requests, the adapter's endpoints, order and page
     sizes: --page-size versions a page, which the sync uses too), the same sweep with MLflow's own Python
     client (MlflowClient.search_model_versions/search_registered_models, what a data scientist would
     script), Keel's full sync into an empty registry (its fetch overlaps its store: the time until the
     last page arrived, and the store after it) and a no-change re-sync; the ratios are the medians of
     each round's ratio to its bare fetch;
  4. prints a table (with the load average and, per goal, whether it is met), writes
     var/bench/registry_sync_<vendor>.json (its top-level `goals`: each goal's ratio, the goal and
     `goal_met`), stops the server and removes its files.

Run it with `make bench`, or `.venv/bin/python scripts/bench_registry_sync.py --help`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import benchkit
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from registry_sync_report import goals, print_table, ratios

from governance.audit.chain import verify_chain
from governance.models import AuditEvent
from projects.inventory import services as inventory_services
from projects.models import ModelVersion, RegisteredModel, Registry, RegistryKind, SyncStatus
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from projects.registries.adapters import mlflow as mlflow_adapter
from projects.registries.connect import adapter_for
from tests.integration.registry_servers import MlflowServer

API = "/api/2.0/mlflow"
ALIASES = ("champion", "challenger")
LINKED_PROJECTS = 10  # models 0..9 carry keel.project=<slug>, so linking is exercised too


# --- filling MLflow over raw REST ----------------------------------------------------------------

_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def _post(url: str, path: str, body: dict) -> dict:
    r = _session().post(f"{url}{API}/{path}", json=body, timeout=(3.05, 60))
    if r.status_code != 200:
        raise RuntimeError(f"POST {path} -> {r.status_code}: {r.text[:300]}")
    return r.json()


def _fill_model(url: str, i: int, versions: int, project_slugs: list[str]) -> int:
    name = f"bench-model-{i:03d}"
    tags = [{"key": "owner", "value": f"team-{i % 5}"}, {"key": "governance.tier", "value": "high" if i % 3 else "low"}]
    if i < len(project_slugs):
        tags.append({"key": "keel.project", "value": project_slugs[i]})
    _post(url, "registered-models/create", {"name": name, "description": f"benchmark model {i}", "tags": tags})
    for v in range(1, versions + 1):
        _post(
            url,
            "model-versions/create",
            {
                "name": name,
                "source": f"s3://bench-models/{name}/{v}/model",
                "run_id": f"{i:04d}{v:04d}" + "0" * 24,
                "description": f"retrain #{v}",
                "tags": [
                    {"key": "data.snapshot", "value": f"2026-{1 + v % 12:02d}-01"},
                    {"key": "validation_status", "value": "passed" if v % 4 else "failed"},
                ],
            },
        )
    _post(url, "registered-models/alias", {"name": name, "alias": ALIASES[0], "version": str(versions - 1)})
    _post(url, "registered-models/alias", {"name": name, "alias": ALIASES[1], "version": str(versions)})
    _post(
        url,
        "model-versions/transition-stage",
        {"name": name, "version": str(versions - 1), "stage": "Production", "archive_existing_versions": False},
    )
    return versions


def fill_mlflow(url: str, models: int, versions: int, threads: int, project_slugs: list[str]) -> dict:
    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=threads)
    try:
        created = sum(pool.map(lambda i: _fill_model(url, i, versions, project_slugs), range(models)))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    seconds = time.perf_counter() - started
    return {"versions": created, "models": models, "seconds": round(seconds, 2), "rate": round(created / seconds, 1)}


# --- the bare fetch ---------------------------------------------------------------------------------


def bare_fetch(url: str) -> tuple[int, int, int]:
    """The adapter's requests (same endpoints, order, order_by and page sizes), parsed as JSON, with no Keel work."""
    session = requests.Session()
    versions, models, pages = 0, 0, 0
    for path, key, size, extra in (
        ("registered-models/search", "registered_models", mlflow_adapter.MODEL_PAGE, {}),
        (
            "model-versions/search", "model_versions", settings.KEEL_REGISTRY_PAGE_SIZE,
            {"order_by": mlflow_adapter.VERSION_ORDER},
        ),
    ):  # fmt: skip
        token = None
        while True:
            params = {"max_results": size, **extra, **({"page_token": token} if token else {})}
            r = session.get(f"{url}{API}/{path}", params=params, timeout=(3.05, 60))
            r.raise_for_status()
            body = r.json()
            pages += 1
            if key == "model_versions":
                versions += len(body.get(key, []))
            else:
                models += len(body.get(key, []))
            token = body.get("next_page_token")
            if not token:
                break
    return versions, models, pages


def client_sweep(client) -> tuple[int, int]:
    """The same sweep with MLflow's own Python client, same page sizes: what a data scientist's script does."""
    versions, models, token = 0, 0, None
    while True:
        page = client.search_model_versions(
            max_results=settings.KEEL_REGISTRY_PAGE_SIZE, order_by=mlflow_adapter.VERSION_ORDER, page_token=token
        )
        versions += len(page)
        token = page.token
        if not token:
            break
    while True:
        page = client.search_registered_models(max_results=mlflow_adapter.MODEL_PAGE, page_token=token)
        models += len(page)
        token = page.token
        if not token:
            break
    return versions, models


def mlflow_client(url: str):
    """MLflow's client for the server (imported here: `import mlflow` takes about a second, not timed)."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=url, registry_uri=url)


# --- CPU: this process's, and the MLflow server's (its own process group) -----------------------------

_server_pgid: int | None = None


class Clock:
    """Wall time, and CPU time on both sides: what the load of the machine changes far less than wall time."""

    def __enter__(self):
        self.wall, self.cpu, self.server = (
            time.perf_counter(),
            time.process_time(),
            benchkit.group_cpu_seconds(_server_pgid),
        )
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.server = benchkit.group_cpu_seconds(_server_pgid) - self.server


# --- Keel side ----------------------------------------------------------------------------------------


class TimedAdapter:
    """The registry's real adapter, its sweep timed until the last page arrived, so the sync splits into the
    fetch (during which the sync stores the pages before) and the store left after it. No `fetch_run`: the
    sync fetches exactly what the bare fetch does."""

    def __init__(self, inner):
        self.inner = inner
        self.fetch_seconds = 0.0

    @property
    def requests_made(self) -> int:
        return self.inner.requests_made

    def fetch_pages(self):
        started = time.perf_counter()
        try:
            yield from self.inner.fetch_pages()
        finally:
            self.fetch_seconds = time.perf_counter() - started

    def fetch_version(self, model: str, version: str):
        return self.inner.fetch_version(model, version)


def timed_sync(registry: Registry, profile_to: Path | None = None) -> dict:
    adapter = TimedAdapter(adapter_for(registry))
    counter = benchkit.QueryCounter()
    events_before = AuditEvent.objects.count()
    profiler = None
    if profile_to is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with Clock() as clock, connection.execute_wrapper(counter):
        run = registry_sync_service.registry_sync(registry=registry, adapter=adapter)
    seconds = clock.wall
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_to)
    if run is None or run.status != SyncStatus.SUCCEEDED:
        raise RuntimeError(f"the sync did not succeed: {run and run.error}")
    return {
        "seconds": seconds,
        "fetch_seconds": adapter.fetch_seconds,
        "store_seconds": seconds - adapter.fetch_seconds,
        "cpu_seconds": clock.cpu,
        "mlflow_cpu_seconds": clock.server,
        "queries": counter.count,
        "audit_events": AuditEvent.objects.count() - events_before,
        "created": run.created,
        "updated": run.updated,
        "deleted": run.deleted,
        "unchanged": run.unchanged,
        "deployments_started": run.deployments_started,
        "versions_seen": run.versions_seen,
        "models_seen": run.models_seen,
        "requests": run.requests,
    }


def seed_projects() -> list[str]:
    user = get_user_model().objects.create_user("bench-owner")
    team = inventory_services.team_create(by=None, name="Bench team", lead=user)
    return [
        inventory_services.project_create(
            by=None, name=f"Bench project {i}", purpose="benchmark", team=team, owner=user
        ).slug
        for i in range(LINKED_PROJECTS)
    ]


# --- the run ------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=40, help="versions per model")
    parser.add_argument("--threads", type=int, default=4, help="threads filling MLflow")
    parser.add_argument(
        "--rounds", type=int, default=5,
        help="rounds of bare fetch, MLflow client sweep, full sync into an empty registry and no-change re-sync",
    )  # fmt: skip
    parser.add_argument("--budget", type=int, default=600, help="seconds before the run gives up")
    parser.add_argument(
        "--page-size", type=int, default=settings.KEEL_REGISTRY_PAGE_SIZE,
        help="versions per page, for the sync (KEEL_REGISTRY_PAGE_SIZE) and the bare fetch and client alike",
    )  # fmt: skip
    parser.add_argument(
        "--profile", action="store_true",
        help="cProfile the second full sync and re-sync (the first pays one-off imports): var/bench/*.prof",
    )  # fmt: skip
    parser.add_argument("--keep-db", action="store_true", help="keep the throwaway Keel database")
    parser.add_argument(
        "--db-label", default="registry_sync",
        help="names the throwaway database (var/bench/<label>.sqlite3, <name>_bench_<label>); two runs at once, two",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, help="the JSON report [var/bench/registry_sync_<vendor>.json]")
    return parser.parse_args()


def timed(fn, *args) -> dict:
    with Clock() as clock:
        fn(*args)
    return {"seconds": clock.wall, "cpu_seconds": clock.cpu, "mlflow_cpu_seconds": clock.server}


def measure_rounds(url: str, args, m: dict):
    """Warm-ups (one bare fetch, one client sweep), then --rounds rounds of the four measures side by side.

    Each full sync goes into a fresh registry row; the previous one is deleted first, so the registry
    tables are empty every time (the append-only audit trail keeps growing). Each round's re-sync runs
    on the registry its full sync just filled."""
    versions, models, pages = bare_fetch(url)
    if versions < args.models * args.versions:
        raise RuntimeError(f"MLflow returned {versions} versions, expected {args.models * args.versions}")
    m["versions"], m["models"], m["pages"] = versions, models, pages
    client = mlflow_client(url)
    if client_sweep(client) != (versions, models):
        raise RuntimeError("MLflow's client did not see the same versions and models as the bare fetch")
    m.update(fetch=[], client=[], full=[], resync=[])
    registry = None
    for i in range(args.rounds):
        m["fetch"].append(timed(bare_fetch, url))
        m["client"].append(timed(client_sweep, client))
        if registry is not None:
            registry.delete()
        registry = registry_services.registry_create(by=None, name=f"bench-{i}", kind=RegistryKind.MLFLOW, base_url=url)
        profile = args.profile and i == min(1, args.rounds - 1)
        full = timed_sync(registry, benchkit.BENCH_DIR / "registry_sync_full.prof" if profile else None)
        if full["created"] != args.models + args.models * args.versions:
            raise RuntimeError(f"full sync created {full['created']} rows")
        resync = timed_sync(registry, benchkit.BENCH_DIR / "registry_sync_resync.prof" if profile else None)
        if (resync["created"], resync["updated"], resync["deleted"], resync["audit_events"]) != (0, 0, 0, 0):
            raise RuntimeError(f"a no-change re-sync changed something: {resync}")
        m["full"].append(full)
        m["resync"].append(resync)
        print(
            f"  round {i + 1}: bare fetch {m['fetch'][-1]['seconds']:.2f} s, "
            f"MLflow client {m['client'][-1]['seconds']:.2f} s, "
            f"full sync {full['seconds']:.2f} s ({full['queries']} queries), re-sync {resync['seconds']:.2f} s "
            f"({resync['queries']} queries); load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return registry


def build_report(*, m: dict, registry, t0: float) -> dict:
    """The JSON report from the measurements `m` (server, fill, rounds, chain, load)."""
    stored = ModelVersion.objects.filter(registered_model__registry=registry).count()
    linked = RegisteredModel.objects.filter(registry=registry, project__isnull=False).count()
    fetch, client, full, resync = m["fetch"], m["client"], m["full"], m["resync"]

    def wall(runs):
        return [r["seconds"] for r in runs]

    def cpu(runs):  # both sides: Keel's (or the script's) process and the MLflow server's
        return [r["cpu_seconds"] + r["mlflow_cpu_seconds"] for r in runs]

    return {
        "when": benchkit.now_iso(),
        "machine": benchkit.machine_facts(),
        "load_average": {"start": m["load_start"], "end": list(os.getloadavg())},
        "database": {"vendor": m["vendor"], "name": str(m["db_name"])},
        "mlflow": {"version": _mlflow_version(), "server_start_seconds": round(m["started_s"], 2), "fill": m["fill"]},
        "data": {"versions": m["versions"], "models": m["models"], "pages": m["pages"], "stored_versions": stored},
        "bare_fetch": {
            "median_seconds": benchkit.median(wall(fetch)),
            "median_cpu_seconds": benchkit.median(cpu(fetch)),
            "runs": fetch,
        },
        "mlflow_client": {
            "median_seconds": benchkit.median(wall(client)),
            "median_cpu_seconds": benchkit.median(cpu(client)),
            "runs": client,
        },
        "full_sync": {
            "median_seconds": benchkit.median(wall(full)),
            "median_cpu_seconds": benchkit.median(cpu(full)),
            "first_run_seconds": full[0]["seconds"],
            "median_fetch_seconds": benchkit.median([r["fetch_seconds"] for r in full]),
            "median_store_seconds": benchkit.median([r["store_seconds"] for r in full]),
            "runs": full,
        },
        "no_change_resync": {
            "median_seconds": benchkit.median(wall(resync)),
            "median_cpu_seconds": benchkit.median(cpu(resync)),
            "median_store_seconds": benchkit.median([r["store_seconds"] for r in resync]),
            "runs": resync,
        },
        # Each round's measure over the same round's bare fetch, then the median over the rounds; by wall
        # time (the goal's measure) and by CPU time on both sides (steadier on a shared machine).
        "ratio_full_sync_to_bare_fetch": ratios(wall(full), wall(fetch)),
        "ratio_resync_to_bare_fetch": ratios(wall(resync), wall(fetch)),
        "ratio_mlflow_client_to_bare_fetch": ratios(wall(client), wall(fetch)),
        "ratio_full_sync_to_mlflow_client": ratios(wall(full), wall(client)),
        "cpu_ratio_full_sync_to_bare_fetch": ratios(cpu(full), cpu(fetch)),
        "cpu_ratio_resync_to_bare_fetch": ratios(cpu(resync), cpu(fetch)),
        "cpu_ratio_mlflow_client_to_bare_fetch": ratios(cpu(client), cpu(fetch)),
        "page_size": settings.KEEL_REGISTRY_PAGE_SIZE,
        "goals": goals(wall(full), wall(resync), wall(fetch), cpu(full), cpu(resync), cpu(fetch)),
        "verify_chain": {"events": m["chain"].checked, "seconds": m["verify_seconds"]},
        "linked_models": linked,
        "total_seconds": time.perf_counter() - t0,
    }


def start_server_and_database(server: MlflowServer, args, t0: float, m: dict) -> None:
    """The server takes ~5 s to start; build the Keel database meanwhile (noted in `m` at once, so that
    a failure after it still drops the throwaway database)."""
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    m["vendor"], m["db_name"] = vendor, db_name = benchkit.setup_database(args.db_label)
    m["slugs"] = seed_projects()
    starter.join(timeout=max(1, args.budget - (time.perf_counter() - t0)))
    if server.proc is None or server.proc.poll() is not None:
        raise RuntimeError(f"mlflow server did not start; see {server.log_path}")
    started_s = time.perf_counter() - t0
    print(f"MLflow at {server.url} (up after {started_s:.1f} s); Keel DB: {vendor} {db_name}", flush=True)
    m["started_s"] = started_s


def main() -> int:
    args = parse_args()
    settings.KEEL_REGISTRY_PAGE_SIZE = max(1, args.page_size)  # the sync's adapter (adapter_for) reads it
    t0 = benchkit.start_budget(args.budget)
    workdir = Path(tempfile.mkdtemp(prefix="keel-bench-mlflow-"))
    server = MlflowServer(workdir)
    m: dict = {"load_start": list(os.getloadavg())}
    try:
        start_server_and_database(server, args, t0, m)
        global _server_pgid
        _server_pgid = server.proc.pid  # started in a session of its own: its pid is its group's id
        m["fill"] = fill = fill_mlflow(server.url, args.models, args.versions, args.threads, m["slugs"])
        print(f"Filled MLflow: {fill['versions']} versions in {fill['seconds']} s ({fill['rate']} v/s)", flush=True)
        registry = measure_rounds(server.url, args, m)
        started = time.perf_counter()
        m["chain"] = verify_chain()
        m["verify_seconds"] = time.perf_counter() - started
        if not m["chain"].ok:
            raise RuntimeError(f"verify_chain failed: {m['chain']}")
        report = build_report(m=m, registry=registry, t0=t0)
        output = args.output or benchkit.BENCH_DIR / f"registry_sync_{m['vendor']}.json"
        benchkit.publish(report, output, print_table)
        return 0
    finally:
        benchkit.stop_budget()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if "vendor" in m and not args.keep_db:
            benchkit.drop_database()


def _mlflow_version() -> str:
    try:
        from importlib.metadata import version

        return version("mlflow")
    except Exception:
        return "unknown"


if __name__ == "__main__":
    benchkit.run(main)
