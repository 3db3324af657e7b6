"""MLflow Model Registry over its REST API (MLflow 2.x/3.x).

A full sweep each time: `registered-models/search` (aliases, which version search does not return),
then `model-versions/search` in pages of `page_size` (KEEL_REGISTRY_PAGE_SIZE) in a stable order (model
name, version number), so that the sync can store one page while the next is in flight. Incremental
sync on last_updated_timestamp is not possible: alias and tag moves do not bump it, and the search has
no timestamp filter.

MLflow pages by offset: a version deleted during the sweep shifts the rest back by one, so one version
can slip past a page boundary. A version missing from a sweep of several pages is therefore confirmed
with `model-versions/get` (`fetch_version`) before the sync marks it deleted.

The pages are read in the sync's helper thread while its own thread reads runs: each thread has its own
HTTP session, and the request count is kept under a lock.
"""

from __future__ import annotations

import threading

import requests

from .base import (
    AUTHOR_REGISTRY,
    PermanentRegistryError,
    RemoteModel,
    RemoteRun,
    RemoteVersion,
    Snapshot,
    SnapshotPage,
    TransientRegistryError,
    from_epoch_ms,
)

API = "/api/2.0/mlflow"
VERSION_PAGE = 500  # the default page of model-versions/search (KEEL_REGISTRY_PAGE_SIZE); MLflow allows 200,000
VERSION_ORDER = ["name ASC", "version_number ASC"]  # an update does not move a version; only deletions shift
MODEL_PAGE = 1_000  # registered-models/search maximum
MAX_PAGES = 1_000  # a guard against a registry that never stops paginating
TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}
MAX_PARAMS = 20  # a reviewer reads a few params; the run page in MLflow has them all


def _tags(items) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in items or ()}


def parse_version(mv: dict) -> RemoteVersion:
    """A model-versions/search (or /get) record as the sync takes it."""
    return RemoteVersion(
        model_name=mv["name"],
        version=str(mv["version"]),
        run_id=mv.get("run_id", ""),
        source=mv.get("source", ""),
        status=mv.get("status", ""),
        description=mv.get("description", ""),
        created_by=mv.get("user_id") or "",
        author_source=AUTHOR_REGISTRY if mv.get("user_id") else "",
        created_at=from_epoch_ms(mv.get("creation_timestamp")),
        updated_at=from_epoch_ms(mv.get("last_updated_timestamp")),
        tags=_tags(mv.get("tags")),
        stage="" if mv.get("current_stage") in (None, "", "None") else mv["current_stage"],
        raw=mv,
    )


def parse_model(rm: dict) -> RemoteModel:
    return RemoteModel(
        name=rm["name"],
        description=rm.get("description", ""),
        created_at=from_epoch_ms(rm.get("creation_timestamp")),
        updated_at=from_epoch_ms(rm.get("last_updated_timestamp")),
        tags=_tags(rm.get("tags")),
        aliases={a["alias"]: str(a["version"]) for a in rm.get("aliases", ())},
    )


class MlflowAdapter:
    def __init__(
        self,
        base_url: str,
        *,
        username: str = "",
        password: str = "",
        token: str = "",
        connect_timeout: float = 3.05,
        read_timeout: float = 30.0,
        page_size: int = VERSION_PAGE,
    ):
        self.base_url = base_url.rstrip("/")
        self._auth = (username, password) if username else None
        self._headers = {"Authorization": f"Bearer {token}"} if token and not username else {}
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self.timeout = (connect_timeout, read_timeout)
        self.page_size = max(1, int(page_size))
        self.requests_made = 0

    @property
    def session(self) -> requests.Session:
        """This thread's HTTP session (requests' Session is not made to be shared between threads)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.auth = self._auth
            session.headers.update(self._headers)
        return session

    def _count(self) -> None:
        with self._count_lock:
            self.requests_made += 1

    def _get(self, path: str, params: dict) -> dict:
        url = f"{self.base_url}{API}/{path}"
        self._count()
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.Timeout as exc:
            raise TransientRegistryError(f"MLflow at {self.base_url} timed out: {exc}") from exc
        except requests.ConnectionError as exc:
            raise TransientRegistryError(f"Cannot connect to MLflow at {self.base_url}: {exc}") from exc
        except requests.RequestException as exc:  # e.g. the connection dropped in the middle of the body
            raise TransientRegistryError(f"MLflow at {self.base_url} broke off its answer for {path}: {exc}") from exc
        status = response.status_code
        if status in TRANSIENT_STATUSES:
            raise TransientRegistryError(f"MLflow answered {status} for {path}", status=status)
        if status in (401, 403):
            raise PermanentRegistryError(
                f"MLflow refused Keel's credentials ({status}) for {path}: check the registry's credential"
                f" variables. {response.text[:200]}",
                status=status,
            )
        if status == 404:
            raise PermanentRegistryError(
                f"MLflow has no {path} at {self.base_url} (404): check the registry URL.", status=status
            )
        if status != 200:
            raise PermanentRegistryError(f"MLflow answered {status} for {path}: {response.text[:200]}", status=status)
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientRegistryError(f"MLflow sent a response that is not JSON for {path}") from exc
        if not isinstance(body, dict):
            raise TransientRegistryError(f"MLflow sent an unexpected response for {path}")
        return body

    def _pages(self, path: str, key: str, page_size: int, **params):
        """Each page's list of records, with whether another page follows."""
        token = None
        for _ in range(MAX_PAGES):
            query = {"max_results": page_size, **params}
            if token:
                query["page_token"] = token
            body = self._get(path, query)
            items = body.get(key, [])
            if not isinstance(items, list):
                raise TransientRegistryError(f"MLflow sent a malformed {key} list for {path}")
            token = body.get("next_page_token")
            yield items, bool(token)
            if not token:
                return
        raise TransientRegistryError(f"MLflow kept paginating {path} past {MAX_PAGES} pages")

    def set_version_tag(self, model: str, version: str, key: str, value: str) -> None:
        """POST model-versions/set-tag. Idempotent, so a retried call cannot write twice."""
        url = f"{self.base_url}{API}/model-versions/set-tag"
        self._count()
        try:
            response = self.session.post(
                url, json={"name": model, "version": str(version), "key": key, "value": value}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise TransientRegistryError(f"Cannot set a tag on MLflow at {self.base_url}: {exc}") from exc
        if response.status_code in TRANSIENT_STATUSES:
            raise TransientRegistryError(
                f"MLflow answered {response.status_code} to set-tag", status=response.status_code
            )
        if response.status_code != 200:
            raise PermanentRegistryError(
                f"MLflow refused to tag {model} v{version} ({response.status_code}): {response.text[:200]}",
                status=response.status_code,
            )

    def fetch_run(self, run_id: str) -> RemoteRun:
        """GET runs/get: the run's latest metrics, a few params, times, experiment and user.

        A run MLflow no longer has (404, or 400 for an id it cannot parse) comes back as not found, so
        the sync stores that and does not ask again; other failures raise as for the snapshot."""
        try:
            body = self._get("runs/get", {"run_id": run_id})
        except PermanentRegistryError as exc:
            if exc.status in (400, 404):
                return RemoteRun(run_id=run_id, found=False)
            raise
        return parse_run(run_id, body)

    def fetch_logged_model_metrics(self, model_id: str) -> list[dict] | None:
        """GET logged-models/{id}: every metric value logged on the model (None: MLflow no longer has it)."""
        try:
            body = self._get(f"logged-models/{model_id}", {})
        except PermanentRegistryError as exc:
            if exc.status in (400, 404):
                return None
            raise
        return parse_logged_model_metrics(model_id, body)

    def fetch_version(self, model: str, version: str) -> RemoteVersion | None:
        """GET model-versions/get: the version as the registry has it now, None when it has it no more."""
        try:
            body = self._get("model-versions/get", {"name": model, "version": version})
        except PermanentRegistryError as exc:
            if exc.status in (400, 404):
                return None
            raise
        try:
            return parse_version(body["model_version"])
        except (KeyError, TypeError) as exc:
            raise TransientRegistryError(f"MLflow sent a malformed record (missing {exc})") from exc

    def fetch_pages(self):
        """The sweep, one SnapshotPage per answer: the registered models (with their aliases), then the
        versions in pages of `page_size`. Raises as fetch_snapshot does, at the page that is broken."""
        try:
            for items, _more in self._pages("registered-models/search", "registered_models", MODEL_PAGE):
                yield SnapshotPage(models={rm["name"]: parse_model(rm) for rm in items}, requests=1)
            pages = self._pages("model-versions/search", "model_versions", self.page_size, order_by=VERSION_ORDER)
            for n, (items, more) in enumerate(pages):
                versions = {}
                for mv in items:
                    remote = parse_version(mv)
                    versions[(remote.model_name, remote.version)] = remote
                yield SnapshotPage(versions=versions, requests=1, offset_paged=n > 0 or more)
        except (KeyError, TypeError) as exc:
            raise TransientRegistryError(f"MLflow sent a malformed record (missing {exc})") from exc

    def fetch_snapshot(self) -> Snapshot:
        """The whole sweep at once (fetch_pages, gathered)."""
        return snapshot_of(self.fetch_pages())


def snapshot_of(pages) -> Snapshot:
    """A Snapshot from a sweep's pages. A version whose model the model search did not return (created
    between the two calls) still gets its model, so no version is ever orphaned."""
    models: dict[str, RemoteModel] = {}
    versions: dict[tuple[str, str], RemoteVersion] = {}
    requests_made = 0
    for page in pages:
        models.update(page.models or {})
        for key, remote in page.versions.items():
            versions.setdefault(key, remote)  # a version seen twice (the offsets shifted): its first answer
        requests_made += page.requests
    for name, _version in versions:
        models.setdefault(name, RemoteModel(name=name))
    return Snapshot(models=models, versions=versions, requests=requests_made)


# What MLflow writes as a run's user when its client named none (MlflowClient.create_run without an
# mlflow.user tag; the fluent API when the OS user cannot be read): nobody, not an account called "unknown".
MLFLOW_NO_USER = "unknown"


def _run_user(value) -> str:
    name = str(value or "").strip()
    return "" if name == MLFLOW_NO_USER else name


def parse_run(run_id: str, body: dict) -> RemoteRun:
    """The parts of a runs/get answer Keel keeps. MLflow's `data.metrics` already holds the latest value
    of each key; the user is `info.user_id`, or the `mlflow.user` tag where the server left it empty."""
    try:
        run = body["run"]
        info, data = run.get("info") or {}, run.get("data") or {}
        metrics = {
            str(m["key"]): {"value": m.get("value"), "timestamp": _iso(m.get("timestamp")), "step": m.get("step", 0)}
            for m in data.get("metrics") or ()
        }
        params = sorted((str(p["key"]), str(p.get("value", ""))) for p in data.get("params") or ())
        tags = _tags(data.get("tags"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise TransientRegistryError(f"MLflow sent a malformed run {run_id} (missing {exc})") from exc
    return RemoteRun(
        run_id=run_id,
        experiment_id=str(info.get("experiment_id") or ""),
        user_id=_run_user(info.get("user_id")) or _run_user(tags.get("mlflow.user")),
        status=str(info.get("status") or ""),
        started_at=from_epoch_ms(info.get("start_time")),
        ended_at=from_epoch_ms(info.get("end_time")),
        metrics=metrics,
        params=dict(params[:MAX_PARAMS]),
        params_count=len(params),
    )


def _iso(epoch_ms) -> str:
    moment = from_epoch_ms(epoch_ms)
    return moment.isoformat() if moment else ""


def parse_logged_model_metrics(model_id: str, body: dict) -> list[dict]:
    """The metrics of a logged-models/{id} answer, every value MLflow keeps (one per run, dataset and step):
    MLflow 3 logs an evaluation's metrics on the model, with the run and the dataset it was measured on."""
    try:
        metrics = ((body["model"].get("data") or {}).get("metrics")) or ()
        return [
            {
                "key": str(m["key"]),
                "value": m.get("value"),
                "timestamp": _iso(m.get("timestamp")),
                "step": int(m.get("step") or 0),
                "dataset_name": str(m.get("dataset_name") or ""),
                "dataset_digest": str(m.get("dataset_digest") or ""),
                "run_id": str(m.get("run_id") or ""),
            }
            for m in metrics
        ]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise TransientRegistryError(f"MLflow sent a malformed logged model {model_id} (missing {exc})") from exc
