"""Reading runs: the MLflow and SageMaker parsing, and which runs a sync reads (once, capped, and a failed
run read that does not fail the sync)."""

from __future__ import annotations

import datetime as dt

import pytest

from projects.models import AuthorSource, ModelVersion
from projects.registries import runs as runs_module
from projects.registries.adapters.base import RemoteRun, TransientRegistryError
from projects.registries.adapters.mlflow import MAX_PARAMS, parse_run
from projects.registries.adapters.sagemaker import created_by_name, model_metrics
from projects.registries.sync import registry_sync
from tests.registry_factories import FakeAdapter, RegistryFactory, snapshot

RUN_BODY = {
    "run": {
        "info": {"run_id": "r1", "experiment_id": "7", "user_id": "", "status": "FINISHED",
                 "start_time": 1_700_000_000_000, "end_time": 1_700_000_060_000},
        "data": {
            "metrics": [{"key": "auc", "value": 0.91, "timestamp": 1_700_000_050_000, "step": 3}],
            "params": [{"key": f"p{i:02d}", "value": str(i)} for i in range(30)],
            "tags": [{"key": "mlflow.user", "value": "mira"}],
        },
    }
}  # fmt: skip


def test_parse_run_keeps_metrics_times_experiment_a_few_params_and_the_user_from_the_tag():
    run = parse_run("r1", RUN_BODY)
    assert run.metrics == {"auc": {"value": 0.91, "timestamp": "2023-11-14T22:14:10+00:00", "step": 3}}
    assert (run.experiment_id, run.status, run.user_id) == ("7", "FINISHED", "mira")
    assert run.started_at == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert run.ended_at - run.started_at == dt.timedelta(minutes=1)
    assert (len(run.params), run.params_count) == (MAX_PARAMS, 30)


@pytest.mark.parametrize(
    ("user_id", "tag", "expected"),
    [
        ("unknown", "", ""),  # MlflowClient.create_run without an mlflow.user tag: nobody
        ("unknown", "mira", "mira"),
        ("", "unknown", ""),
        (" mira ", "", "mira"),
        ("Unknown-Team", "", "Unknown-Team"),  # only MLflow's exact placeholder means nobody
    ],
)
def test_parse_run_reads_mlflows_unknown_placeholder_as_no_user(user_id, tag, expected):
    body = {"run": {"info": {"user_id": user_id}, "data": {"tags": [{"key": "mlflow.user", "value": tag}]}}}
    assert parse_run("r1", body).user_id == expected


def test_parse_run_refuses_a_malformed_answer_as_transient():
    with pytest.raises(TransientRegistryError):
        parse_run("r1", {"run": {"data": {"metrics": [{"value": 1}]}}})


def test_sagemaker_model_metrics_are_report_locations_and_created_by_falls_back_to_the_iam_identity():
    metrics = model_metrics(
        {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/stats.json"}}}
    )
    assert metrics == {"ModelQuality.Statistics": {"value": "s3://b/stats.json", "content_type": "application/json"}}
    assert created_by_name({"UserProfileName": "ana", "IamIdentity": {"Arn": "arn:x"}}) == "ana"
    assert created_by_name({"IamIdentity": {"Arn": "arn:aws:iam::1:user/bo"}}) == "arn:aws:iam::1:user/bo"
    assert created_by_name(None) == ""


class RunAdapter(FakeAdapter):
    """A fake registry that also answers runs (for unit tests of what the sync reads and stores)."""

    def __init__(self, snap, *, fail_on: str = ""):
        super().__init__(snap)
        self.asked: list[str] = []
        self.requests_made = 0
        self.fail_on = fail_on

    def fetch_run(self, run_id: str) -> RemoteRun:
        self.requests_made += 1
        self.asked.append(run_id)
        if run_id == self.fail_on:
            raise TransientRegistryError("503")
        return RemoteRun(run_id=run_id, user_id="mira", metrics={"auc": {"value": 0.9, "timestamp": "", "step": 0}})


@pytest.mark.django_db
def test_a_sync_reads_each_run_once_and_a_failed_run_read_does_not_fail_the_sync(monkeypatch):
    registry = RegistryFactory()
    snap = snapshot({"m": {}}, {"m": ["1"]}, run_id="run-1")
    adapter = RunAdapter(snap, fail_on="run-1")

    first = registry_sync(registry=registry, adapter=adapter)

    version = ModelVersion.objects.get()
    assert (first.status, first.requests, version.run_fetched_id, version.author_source) == (
        "succeeded", 3, "", AuthorSource.UNKNOWN,
    )  # fmt: skip
    adapter.fail_on = ""
    second = registry_sync(registry=registry, adapter=adapter)
    version.refresh_from_db()
    assert (second.updated, version.created_by, version.author_source) == (1, "mira", AuthorSource.RUN)
    third = registry_sync(registry=registry, adapter=adapter)
    assert adapter.asked == ["run-1", "run-1"]
    assert (third.requests, third.updated, third.unchanged) == (2, 0, 1)


@pytest.mark.django_db
def test_a_sync_reads_at_most_runs_per_sync_new_versions_first(monkeypatch):
    monkeypatch.setattr(runs_module, "RUNS_PER_SYNC", 2)
    registry = RegistryFactory()
    snap = snapshot({"m": {}}, {"m": ["1", "2", "3"]})
    snap.versions.update({k: v.__class__(**{**v.__dict__, "run_id": f"run-{k[1]}"}) for k, v in snap.versions.items()})
    adapter = RunAdapter(snap)
    registry_sync(registry=registry, adapter=adapter)
    registry_sync(registry=registry, adapter=adapter)
    assert adapter.asked == ["run-1", "run-2", "run-3"]
    assert sorted(ModelVersion.objects.values_list("run_fetched_id", flat=True)) == ["run-1", "run-2", "run-3"]


@pytest.mark.django_db
def test_the_versions_own_author_wins_over_the_runs():
    registry = RegistryFactory()
    adapter = RunAdapter(snapshot({"m": {}}, {"m": ["1"]}, run_id="run-1", created_by="ravi", author_source="registry"))
    registry_sync(registry=registry, adapter=adapter)
    version = ModelVersion.objects.get()
    assert (version.created_by, version.author_source, version.run_user_id) == ("ravi", "registry", "mira")
