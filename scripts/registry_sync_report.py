"""The registry sync benchmark's ratios, goals and table (scripts/bench_registry_sync.py)."""

from __future__ import annotations

import benchkit

FULL_SYNC_GOAL = 1.5  # issue #15: a full sync within 1.5x the bare fetch of the same data
RESYNC_GOAL = 1.1  # and a no-change re-sync within the bare fetch + 10 %


def ratios(values: list[float], bases: list[float]) -> dict:
    ratios = [v / b for v, b in zip(values, bases, strict=True)]
    return {"median": benchkit.median(ratios), "min": min(ratios), "max": max(ratios), "runs": ratios}


def goals(full, resync, fetch, full_cpu, resync_cpu, fetch_cpu) -> dict:
    """Issue #15's goals, each with its ratio (median of the rounds), the goal and whether it is met: by wall
    time, the goal's own measure, and by CPU time on both sides, steadier on a shared machine."""
    out = {}
    for name, values, bases, goal, measure in (
        ("full_sync_to_bare_fetch", full, fetch, FULL_SYNC_GOAL, "wall"),
        ("resync_to_bare_fetch", resync, fetch, RESYNC_GOAL, "wall"),
        ("full_sync_to_bare_fetch_cpu", full_cpu, fetch_cpu, FULL_SYNC_GOAL, "cpu"),
        ("resync_to_bare_fetch_cpu", resync_cpu, fetch_cpu, RESYNC_GOAL, "cpu"),
    ):
        ratio = ratios(values, bases)["median"]
        out[name] = {"ratio": round(ratio, 3), "goal": goal, "goal_met": ratio <= goal, "measure": measure}
    return out


def print_table(r: dict) -> None:
    n = r["data"]["versions"]
    full, resync = r["full_sync"], r["no_change_resync"]
    first = full["runs"][0]
    rows = [
        (
            "bare fetch over HTTP (median)",
            r["bare_fetch"]["median_seconds"],
            f"{r['data']['pages']} requests, {r['page_size']} versions a page",
        ),
        ("MLflow's Python client (median)", r["mlflow_client"]["median_seconds"], "same sweep"),
        ("Keel full sync, empty DB (median)", full["median_seconds"], f"{len(full['runs'])} runs"),
        ("  until the last page arrived", full["median_fetch_seconds"], "the pages before it stored meanwhile"),
        ("  store after the last page", full["median_store_seconds"], f"{first['queries']} queries in all"),
        ("Keel no-change re-sync (median)", resync["median_seconds"], f"{resync['runs'][0]['queries']} queries"),
        ("verify_audit over the whole chain", r["verify_chain"]["seconds"], f"{r['verify_chain']['events']} events"),
    ]
    load = r["load_average"]
    print(f"\nRegistry sync benchmark: {n} versions, {r['data']['models']} models, MLflow {r['mlflow']['version']}, "
          f"{r['database']['vendor']}, {r['machine']['cpus']} CPUs, load average {load['start'][0]:.1f} at start, "
          f"{load['end'][0]:.1f} at end")  # fmt: skip
    print(f"{'measure':<36} {'seconds':>8} {'versions/s':>11}  note")
    print("-" * 72)
    for label, seconds, note in rows:
        rate = f"{n / seconds:,.0f}" if seconds and "verify" not in label else ""
        print(f"{label:<36} {seconds:>8.3f} {rate:>11}  {note}")
    print("-" * 72)
    print(f"{'ratios, median of the rounds (min-max)':<36} {'wall time':>18}  {'CPU, both sides':>18}")
    for label, key, goal in (
        ("full sync / bare fetch", "full_sync_to_bare_fetch", f"goal <= {FULL_SYNC_GOAL}x"),
        ("no-change re-sync / bare fetch", "resync_to_bare_fetch", f"goal <= {RESYNC_GOAL}x"),
        ("MLflow client / bare fetch", "mlflow_client_to_bare_fetch", ""),
        ("full sync / MLflow client", "full_sync_to_mlflow_client", ""),
    ):
        cells = []
        for prefix in ("ratio_", "cpu_ratio_"):
            ratio = r.get(prefix + key)
            cells.append(f"{ratio['median']:.2f}x ({ratio['min']:.2f}-{ratio['max']:.2f})" if ratio else "")
        print(f"{label:<36} {cells[0]:>18}  {cells[1]:>18}  {goal}")
    for name, g in r["goals"].items():
        verdict = "goal met" if g["goal_met"] else "goal NOT met"
        print(f"{name:<36} {g['ratio']:.2f}x ({g['measure']}) vs goal <= {g['goal']}x: {verdict}")
    print(
        f"first full sync: {first['created']} rows created, {first['deployments_started']} deployments opened, "
        f"{first['audit_events']} audit events; {r['linked_models']} models linked by tag"
    )
