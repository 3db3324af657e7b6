"""Evidently 0.7's report JSON, posted as it is, turned into signals: pure functions, no database.

`Report([...], include_tests=True).run(current, reference)` gives a snapshot whose `.json()` (or `.dict()`)
is `{"metrics": [...], "tests": [...]}`:

    metrics[i] = {"id": "<fingerprint>", "metric_name": "ValueDrift(column=age,method=K-S p_value,threshold=0.05)",
                  "config": {"type": "evidently:metric_v2:ValueDrift", ...}, "value": 0.0012}
                  (value is a number, or an object of numbers such as {"count": 1.0, "share": 0.5})
    tests[i]   = {"name": "Value Drift for column age", "status": "SUCCESS" | "FAIL" | "WARNING" | "ERROR",
                  "metric_config": {"metric_id": "<fingerprint>", "params": {"type": ...}}, ...}

Each metric becomes one signal named by its `metric_name` (a number) or `<metric_name>.<key>` per number of
an object value (nested objects: `.<key>.<key>`); each test with a verdict becomes `test:<name>` (1 passed,
0.5 warning, 0 failed), and `tests.failed` counts the failed ones. A snapshot carries no time: the poster
gives `measured_at`, or it is the time of the post. The kind (drift, data quality, performance) is read
off the metric's class. Earlier Evidently formats (0.4's `"metrics": [{"metric": ..., "result": ...}]`)
are refused by name rather than half read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..models import SignalKind

MAX_DEPTH = 3  # nesting of a metric's value object that is still read
NAME_LIMIT = 200
TEST_SCORES = {"SUCCESS": 1.0, "WARNING": 0.5, "FAIL": 0.0}
PERFORMANCE = (
    "Accuracy", "Precision", "Recall", "F1", "RocAuc", "LogLoss", "MAE", "MAPE", "RMSE", "R2", "MeanError",
    "AbsMaxError", "TPR", "TNR", "FPR", "FNR", "NDCG", "MRR", "HitRate", "MAP", "Dummy",
)  # fmt: skip
DATA_QUALITY = ("Count", "Missing", "Duplicated", "Empty", "Constant", "Almost", "Unique", "Range", "InList",
                "OutList", "Quantile", "Mean", "Median", "Min", "Max", "Std", "Category")  # fmt: skip
FAIRNESS = ("Parity", "Fairness", "Disparate", "EqualOpportunity", "EqualizedOdds")

NOT_A_REPORT = (
    "This is not an Evidently 0.7 report: expected an object with a list of metrics, each with metric_name "
    "and value (Report.run(...).json())."
)
OLD_FORMAT = (
    "This looks like an Evidently report from before 0.7 (metrics with 'metric' and 'result'); export it with "
    "Evidently 0.7 (Report.run(...).json()) or send Keel's JSON form."
)
NOTHING_NUMERIC = "The report holds no numeric metric value or test verdict to record."


class ReportUnreadable(ValueError):
    """The body is not an Evidently 0.7 report Keel can read; the message says why."""


@dataclass(frozen=True)
class ReportValue:
    name: str
    value: float
    kind: str
    reference: str  # the metric's fingerprint id in the report


def looks_like_evidently(body: object) -> bool:
    """Evidently's shape (a `metrics` list) rather than Keel's own form (a `signals` list)."""
    return isinstance(body, dict) and "signals" not in body and isinstance(body.get("metrics"), list)


def kind_of(metric_type: str) -> str:
    """drift / performance / fairness / data quality from the metric class in `evidently:metric_v2:<Class>`."""
    cls = metric_type.rsplit(":", 1)[-1]
    if "Drift" in cls:
        return SignalKind.DRIFT
    if any(word in cls for word in FAIRNESS):
        return SignalKind.FAIRNESS
    if any(cls.startswith(word) or word in cls for word in PERFORMANCE):
        return SignalKind.PERFORMANCE
    if any(word in cls for word in DATA_QUALITY):
        return SignalKind.DATA_QUALITY
    return SignalKind.OTHER


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _flatten(name: str, value: object, depth: int = 0) -> list[tuple[str, float]]:
    number = _number(value)
    if number is not None:
        return [(name, number)]
    if isinstance(value, dict) and depth < MAX_DEPTH:
        return [pair for key, inner in value.items() for pair in _flatten(f"{name}.{key}", inner, depth + 1)]
    return []


def report_values(body: dict) -> list[ReportValue]:
    """Every numeric metric value and test verdict of the report, in the report's order."""
    metrics = body.get("metrics")
    if not isinstance(metrics, list):
        raise ReportUnreadable(NOT_A_REPORT)
    out: list[ReportValue] = []
    kinds: dict[str, str] = {}
    for metric in metrics:
        if not isinstance(metric, dict):
            raise ReportUnreadable(NOT_A_REPORT)
        if "metric_name" not in metric and ("metric" in metric or "result" in metric):
            raise ReportUnreadable(OLD_FORMAT)
        name = metric.get("metric_name")
        if not isinstance(name, str) or not name or "value" not in metric:
            raise ReportUnreadable(NOT_A_REPORT)
        config = metric.get("config") if isinstance(metric.get("config"), dict) else {}
        kind = kind_of(str(config.get("type") or name.split("(", 1)[0]))
        ref = str(metric.get("id") or "")
        kinds[ref] = kind
        out.extend(ReportValue(n[:NAME_LIMIT], v, kind, ref) for n, v in _flatten(name, metric["value"]))
    tests = body.get("tests") if isinstance(body.get("tests"), list) else []
    failed, verdicts = 0, 0
    for test in tests:
        if not isinstance(test, dict) or str(test.get("status")) not in TEST_SCORES:
            continue
        metric_config = test.get("metric_config") if isinstance(test.get("metric_config"), dict) else {}
        ref = str(metric_config.get("metric_id") or "")
        status = str(test["status"])
        failed += status == "FAIL"
        verdicts += 1
        name = f"test:{test.get('name') or ref}"[:NAME_LIMIT]
        out.append(ReportValue(name, TEST_SCORES[status], kinds.get(ref, SignalKind.OTHER), ref))
    if verdicts:
        out.append(ReportValue("tests.failed", float(failed), SignalKind.OTHER, ""))
    if not out:
        raise ReportUnreadable(NOTHING_NUMERIC)
    # Two metrics of one report cannot both be recorded under one name at one time: the first stands.
    seen: set[str] = set()
    return [v for v in out if not (v.name in seen or seen.add(v.name))]
