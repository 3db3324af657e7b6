"""Reads of the PII inventory, of one dataset, and of a project's compliance: facts, obligations,
coverage, and the PII paths into its model versions. Querysets carry their joins; aggregates are
computed in the database."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce

from projects.inventory.selectors import projects_for_user
from projects.models import AIProject, ModelVersion

from ..models import (
    Classification,
    ColumnEdge,
    Dataset,
    DatasetField,
    Evidence,
    LineageEdge,
    Obligation,
    ObligationStatus,
)
from . import taxonomy


def _chunks(ids, size=2000):
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


# --- inventory and datasets -----------------------------------------------------------------------


def classifications_inventory() -> QuerySet[Classification]:
    """Every classification, with what the inventory table shows joined in."""
    return Classification.objects.select_related(
        "dataset", "field", "asserted_by", "derived_from__dataset", "derived_from__field"
    ).order_by("dataset__namespace", "dataset__name", "field__name", "pii_kind", "hops", "pk")


def dataset_for_page(pk: int) -> Dataset:
    return Dataset.objects.select_related("source", "owner", "model_version__registered_model__project").get(pk=pk)


def dataset_classifications(dataset: Dataset) -> list[Classification]:
    return list(
        Classification.objects.filter(dataset=dataset)
        .select_related("field", "asserted_by", "derived_from__dataset", "derived_from__field")
        .order_by("field__name", "pii_kind", "hops", "pk")
    )


def dataset_fields(dataset: Dataset) -> list[DatasetField]:
    return list(DatasetField.objects.filter(dataset=dataset).order_by("name"))


def dataset_neighbours(dataset: Dataset) -> dict[str, list[dict]]:
    """Upstream and downstream datasets one hop away, with the jobs between (one query each)."""
    up = (
        LineageEdge.objects.filter(target=dataset)
        .values("source_id", "source__namespace", "source__name", "job__name", "has_column_lineage")
        .order_by("source__name", "job__name")
    )
    down = (
        LineageEdge.objects.filter(source=dataset)
        .values("target_id", "target__namespace", "target__name", "job__name", "has_column_lineage")
        .order_by("target__name", "job__name")
    )
    return {
        "upstream": [{"id": r["source_id"], "name": r["source__name"], "namespace": r["source__namespace"],
                      "job": r["job__name"], "column_lineage": r["has_column_lineage"]} for r in up],
        "downstream": [{"id": r["target_id"], "name": r["target__name"], "namespace": r["target__namespace"],
                        "job": r["job__name"], "column_lineage": r["has_column_lineage"]} for r in down],
    }  # fmt: skip


# --- a project's facts -----------------------------------------------------------------------------


def upstream_closure(dataset_ids: Iterable[int]) -> set[int]:
    """These datasets and everything upstream of them (dataset and column edges), walked level by level."""
    seen = set(dataset_ids)
    frontier = list(seen)
    while frontier:
        nxt: set[int] = set()
        for chunk in _chunks(frontier):
            nxt.update(LineageEdge.objects.filter(target_id__in=chunk).values_list("source_id", flat=True))
            nxt.update(
                ColumnEdge.objects.filter(target_field__dataset_id__in=chunk).values_list(
                    "source_field__dataset_id", flat=True
                )
            )
        frontier = list(nxt - seen)
        seen |= nxt
    return seen


def model_datasets(project: AIProject) -> list[dict]:
    """The datasets linked to the project's model versions (a MODEL dataset, or one linked by hand)."""
    return list(
        Dataset.objects.filter(model_version__registered_model__project=project)
        .values("pk", "namespace", "name", "model_version_id", "model_version__version",
                "model_version__registered_model__name")
        .order_by("model_version__registered_model__name", "model_version__version", "name")
    )  # fmt: skip


def project_facts(project: AIProject) -> dict:
    """What the obligation rules read: the tier, and the PII that reaches the project's models.

    A dataset "carries" the PII when a root that reaches a model dataset has a label on it and it
    lies upstream of (or is) a model dataset — alternative paths included, not only the one stored.
    """
    linked = model_datasets(project)
    ids = [d["pk"] for d in linked]
    reaching = (
        Classification.objects.filter(dataset_id__in=ids)
        .annotate(root=Coalesce(F("derived_from_id"), F("id")))
        .values_list("root", "pii_kind")
    )
    roots, kinds = set(), set()
    for root, kind in reaching:
        roots.add(root)
        kinds.add(kind)
    carrying: dict[int, set[str]] = {}
    if roots:
        scope = upstream_closure(ids)
        for chunk in _chunks(scope):
            for dataset_id, kind in Classification.objects.filter(
                Q(pk__in=roots) | Q(derived_from_id__in=roots), dataset_id__in=chunk
            ).values_list("dataset_id", "pii_kind"):
                carrying.setdefault(dataset_id, set()).add(kind)
    datasets = []
    for chunk in _chunks(carrying):
        for d in Dataset.objects.filter(pk__in=chunk).values(
            "pk", "namespace", "name", "legal_basis", "art9_condition", "retention_days"
        ):
            own = sorted(carrying[d["pk"]])
            datasets.append({
                "name": f"{d['namespace']}/{d['name']}", "kinds": own,
                "special": any(taxonomy.is_special(k) for k in own), "legal_basis": d["legal_basis"],
                "art9_condition": d["art9_condition"], "retention_days": d["retention_days"],
            })  # fmt: skip
    datasets.sort(key=lambda d: d["name"])
    return {
        "tier": project.risk_tier,
        "model_versions": sorted(
            {f"{d['model_version__registered_model__name']} v{d['model_version__version']}" for d in linked}
        ),
        "training_datasets": sorted({f"{d['namespace']}/{d['name']}" for d in linked}),
        "personal_kinds": sorted(kinds),
        "special_kinds": sorted(k for k in kinds if taxonomy.is_special(k)),
        "criminal_kinds": sorted(k for k in kinds if taxonomy.is_criminal(k)),
        "datasets": datasets,
    }


# --- obligations and coverage ----------------------------------------------------------------------


def obligations_for_project(project: AIProject) -> list[Obligation]:
    return list(
        Obligation.objects.filter(project=project)
        .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.select_related("given_by")))
        .order_by("rule_id")
    )


def obligations_for_user(*, user) -> QuerySet[Obligation]:
    return Obligation.objects.filter(project__in=projects_for_user(user=user).values("pk")).select_related("project")


def evidence_for_user(*, user) -> QuerySet[Evidence]:
    return Evidence.objects.filter(obligation__project__in=projects_for_user(user=user).values("pk")).select_related(
        "obligation__project", "given_by"
    )


def _coverage(met: int, required: int, stale: int = 0, unmet: int = 0) -> dict:
    return {
        "met": met,
        "required": required,
        "stale": stale,
        "unmet": unmet,
        "percent": round(100 * met / required) if required else None,
    }


def compliance_coverage(*, project: AIProject | None = None, projects: QuerySet | None = None) -> dict:
    """met / required obligations for one project, or summed over a set of projects (the portfolio).

    `percent` is None when nothing is required (no PII reaches the models and the tier asks for nothing).
    """
    qs = Obligation.objects.exclude(status=ObligationStatus.NOT_APPLICABLE)
    if project is not None:
        qs = qs.filter(project=project)
    elif projects is not None:
        qs = qs.filter(project__in=projects.values("pk"))
    agg = qs.aggregate(
        required=Count("pk"),
        met=Count("pk", filter=Q(status=ObligationStatus.MET)),
        stale=Count("pk", filter=Q(status=ObligationStatus.STALE)),
        unmet=Count("pk", filter=Q(status=ObligationStatus.UNMET)),
    )
    return _coverage(agg["met"], agg["required"], agg["stale"], agg["unmet"])


def coverage_by_project(projects: QuerySet) -> QuerySet:
    """One row per project with its required and met counts (for a dashboard chart)."""
    return projects.annotate(
        obligations_required=Count("obligations", filter=~Q(obligations__status=ObligationStatus.NOT_APPLICABLE)),
        obligations_met=Count("obligations", filter=Q(obligations__status=ObligationStatus.MET)),
    )


# --- PII reaching model versions ------------------------------------------------------------------


def pii_reaching_project(project: AIProject) -> list[Classification]:
    """Every label on a dataset linked to one of the project's model versions, with its path."""
    return list(
        Classification.objects.filter(dataset__model_version__registered_model__project=project)
        .select_related("dataset__model_version__registered_model", "field")
        .order_by("dataset__model_version__version", "pii_kind", "hops", "pk")
    )


def pii_summary_for_version(version: ModelVersion) -> list[dict]:
    """For the sign-off evidence pack: which personal data reached this model version, and by which path."""
    rows = (
        Classification.objects.filter(dataset__model_version=version)
        .select_related("dataset", "field")
        .order_by("gdpr_class", "pii_kind", "hops", "pk")
    )
    return [
        {
            "kind": c.pii_kind,
            "kind_label": c.get_pii_kind_display(),
            "gdpr_class": c.gdpr_class,
            "treatment": c.treatment,
            "verified": c.verified,
            "origin": c.origin,
            "dataset": str(c.dataset),
            "field": c.field.name if c.field_id else "",
            "path": path_text(c),
        }
        for c in rows
    ]


def path_text(c: Classification) -> str:
    """raw_customers.email → stg_customers.email (dbt.stg) → …, for tables, exports and the evidence pack."""
    if not c.path:
        return f"{c.dataset.name}.{c.field.name}" if c.field_id else c.dataset.name
    parts = []
    for hop in c.path:
        where = hop["dataset_name"] + (f".{hop['field_name']}" if hop.get("field_name") else "")
        parts.append(where + (f" ({hop['job_name']})" if hop.get("job_name") else ""))
    return " → ".join(parts)


MAX_GRAPH_PATHS = 300


def pii_paths(reaching: list[Classification]) -> list[dict]:
    """The paths of the labels on a project's model datasets, as plain data for charts.pii_lineage_graph
    (the most exposing first, at most MAX_GRAPH_PATHS)."""
    out = []
    for c in reaching[:MAX_GRAPH_PATHS]:
        hops = c.path or [{"dataset": c.dataset_id, "dataset_name": c.dataset.name, "field": c.field_id,
                           "field_name": c.field.name if c.field_id else "", "job_name": "",
                           "treatment": c.treatment}]  # fmt: skip
        mv = c.dataset.model_version
        out.append({
            "kind": c.pii_kind,
            "gdpr_class": c.gdpr_class,
            "treatment": c.treatment,
            "verified": c.verified,
            "nodes": [{"key": f"d{h['dataset']}:{h.get('field') or ''}",
                       "label": h["dataset_name"] + (f".{h['field_name']}" if h.get("field_name") else ""),
                       "job": h.get("job_name") or "", "treatment": h.get("treatment", "")} for h in hops],
            "model_key": f"mv{mv.pk}",
            "model": f"{mv.registered_model.name} v{mv.version}",
        })  # fmt: skip
    return out


def coverage_by_team(projects: QuerySet) -> list[dict]:
    """Per team, its projects' obligations met, stale and unmet (one query; for the dashboard chart)."""
    rows = (
        Obligation.objects.filter(project__in=projects.order_by().values("pk"))
        .exclude(status=ObligationStatus.NOT_APPLICABLE)
        .order_by()
        .values("project__team__name")
        .annotate(
            met=Count("pk", filter=Q(status=ObligationStatus.MET)),
            stale=Count("pk", filter=Q(status=ObligationStatus.STALE)),
            unmet=Count("pk", filter=Q(status=ObligationStatus.UNMET)),
        )
        .order_by("project__team__name")
    )
    return [{"team": r["project__team__name"], "met": r["met"], "stale": r["stale"], "unmet": r["unmet"]} for r in rows]
