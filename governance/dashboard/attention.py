"""What needs the executive's attention: versions in production without a valid sign-off, the "Needs
attention" list, and each project's health (on track / at risk / off track).

The unapproved-production rule is not written here: it is signoff.deployments.versions_serving_without_approval,
the same queryset the hourly sweep opens DEPLOYED_WITHOUT_APPROVAL findings from, narrowed to the
dashboard's projects. Every read is a fixed number of queries whatever the portfolio's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, IntegerField, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from core.roles import reads_everything
from projects.models import AIProject, DeploymentObservation, Stage

from ..models import Finding, FindingKind, Risk, RiskStatus, Severity, SignOffRequest
from ..signoff.deployments import production_signal_q, versions_serving_without_approval

# How many versions the "In production without a valid sign-off" list names; the tile counts them all and
# the findings page (kind "in production without a valid sign-off") lists the rest.
UNAPPROVED_SHOWN = 10
HIGH_SEVERITIES = (Severity.HIGH, Severity.CRITICAL)


class Health:
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    LABELS = {ON_TRACK: "On track", AT_RISK: "At risk", OFF_TRACK: "Off track"}


# Below this share of the plan to date a project is "at risk" on value (below KEEL_VALUE_DECAY_SHARE it is
# "off track", the value-decay rule's own threshold): a few per cent short is noise in a monthly ledger.
AT_RISK_VALUE_SHARE = Decimal("0.95")


@dataclass(frozen=True)
class ProjectHealth:
    status: str
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return Health.LABELS[self.status]


def project_health(
    *,
    stage: str,
    realised_pct: Decimal | None,
    unapproved_production: int,
    overdue_reviews: int,
    open_high_findings: int,
) -> ProjectHealth:
    """One project's health, from figures the dashboard already shows. The worst signal wins:

    * **Off track**: a version serves production without a valid sign-off; or value realised is below
      KEEL_VALUE_DECAY_SHARE (80 %) of the plan to date.
    * **At risk**: a risk review is overdue; an open finding is high or critical; value realised is
      below 95 % of the plan to date; or a project in production has no plan to date at all (its value is
      unknown, which is not taken as fine).
    * **On track**: none of these.
    A project before production without a plan is not judged on value (nothing is due yet).
    """
    off, risk = [], []
    if unapproved_production:
        off.append(f"{unapproved_production} version(s) in production without a valid sign-off")
    if realised_pct is not None and realised_pct < settings.KEEL_VALUE_DECAY_SHARE * 100:
        off.append(f"value {realised_pct:.0f} % of plan to date")
    elif realised_pct is not None and realised_pct < AT_RISK_VALUE_SHARE * 100:
        risk.append(f"value {realised_pct:.0f} % of plan to date")
    elif realised_pct is None and stage == Stage.PRODUCTION:
        risk.append("in production with no value planned to date (value unknown)")
    if overdue_reviews:
        risk.append(f"{overdue_reviews} risk review(s) overdue")
    if open_high_findings:
        risk.append(f"{open_high_findings} open high or critical finding(s)")
    if off:
        return ProjectHealth(Health.OFF_TRACK, off + risk)
    if risk:
        return ProjectHealth(Health.AT_RISK, risk)
    return ProjectHealth(Health.ON_TRACK, [])


def _count_of(qs: QuerySet, group_by: str):
    """A one-value subquery counting `qs` (filtered on an OuterRef) per `group_by`; 0 when none."""
    counted = qs.order_by().values(group_by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_health_signals(rows: QuerySet[AIProject]) -> QuerySet[AIProject]:
    """project_rows() with the counts project_health() needs: correlated subqueries, so the table's page
    stays one query."""
    unapproved = versions_serving_without_approval().filter(registered_model__project=OuterRef("pk"))
    overdue = Risk.objects.filter(project=OuterRef("pk"), review_overdue=True).exclude(status=RiskStatus.CLOSED)
    high = Finding.objects.filter(project=OuterRef("pk"), resolved_at__isnull=True, severity__in=HIGH_SEVERITIES)
    return rows.annotate(
        unapproved_production=_count_of(unapproved, "registered_model__project"),
        overdue_reviews=_count_of(overdue, "project"),
        open_high_findings=_count_of(high, "project"),
    )


def _of_projects(qs: QuerySet, projects: QuerySet[AIProject], field_name: str) -> QuerySet:
    if not projects.query.where:
        return qs
    return qs.filter(**{f"{field_name}__in": projects.order_by().values("pk")})


def unapproved_production(projects: QuerySet[AIProject], *, limit: int = UNAPPROVED_SHOWN) -> tuple[int, list]:
    """The versions of `projects` serving production without a valid sign-off: how many, and the first
    `limit` (the longest-serving first), each with `since` (the earliest open production signal), `signals`
    (the open production observations) and `latest_signoff` (its newest sign-off request, or None).
    Three queries: the count, the page, the signals."""
    versions = _of_projects(versions_serving_without_approval(), projects, "registered_model__project")
    count = versions.count()
    latest = SignOffRequest.objects.filter(model_version=OuterRef("pk")).order_by("-requested_at", "-pk")
    shown = list(
        versions.select_related("registered_model__registry", "registered_model__project__team")
        .annotate(
            since=Min("deployments__observed_from", filter=production_signal_q("deployments__")),
            latest_signoff_id=Subquery(latest.values("pk")[:1]),
            latest_signoff_status=Subquery(latest.values("status")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "deployments",
                queryset=DeploymentObservation.objects.filter(production_signal_q()).order_by("observed_from"),
                to_attr="production_signals",
            )
        )
        .order_by("since", "registered_model__name", "version_number", "pk")[:limit]
    )
    return count, shown


def attention_counts(
    *, user, projects: QuerySet[AIProject], filtered: bool, overdue: dict | None = None
) -> dict[str, int]:
    """The "Needs attention" list's counts over `projects`: overdue risk reviews, open value-decay findings,
    and (for those who read everything, while no filter narrows the portfolio) open findings about models
    in production that no project owns. Two queries; one when `overdue` is given (the summary's
    overdue_reviews, which its risk query counts on the way)."""
    if overdue is None:
        overdue = (
            _of_projects(Risk.objects.filter(review_overdue=True), projects, "project")
            .exclude(status=RiskStatus.CLOSED)
            .aggregate(risks=Count("pk"), projects=Count("project", distinct=True))
        )
    open_findings = Finding.objects.filter(resolved_at__isnull=True, kind__in=_ATTENTION_KINDS)
    # An unowned model belongs to no team, stage or tier: like the findings tile, it counts only for those who
    # read everything and only while the portfolio is not narrowed.
    sees_unowned = reads_everything(user) and not filtered
    scoped = Q(project__in=projects.order_by().values("pk")) if projects.query.where else Q(project__isnull=False)
    findings = open_findings.filter(scoped | Q(project__isnull=True) if sees_unowned else scoped).aggregate(
        decay=Count("pk", filter=Q(kind=FindingKind.VALUE_DECAY)),
        unowned=Count("pk", filter=Q(kind=FindingKind.UNOWNED_PRODUCTION_MODEL)),
    )
    return {
        "overdue_reviews": overdue["risks"],
        "overdue_projects": overdue["projects"],
        "value_decay": findings["decay"],
        "unowned_models": findings["unowned"],
    }


_ATTENTION_KINDS = (FindingKind.VALUE_DECAY, FindingKind.UNOWNED_PRODUCTION_MODEL)
