"""The value-decay rule: a project whose actual value stays below its plan opens a finding.

"Decaying" is projects.roi.figures' definition (actual value below KEEL_VALUE_DECAY_SHARE of planned value
for KEEL_VALUE_DECAY_MONTHS consecutive months, up to the latest month with actuals), computed
from the ledger by projects' selectors. The rule runs daily from beat; it is idempotent: one open
finding per decaying project (the partial unique constraint on open findings guarantees it), and
a finding whose project recovered is resolved. A finding someone resolved by hand is not opened
again for the same decay episode; a new episode (a later first short month) opens a new one.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from projects.models import AIProject, ROIMonthRollup, Stage
from projects.roi.figures import RoiFigures, month_start
from projects.roi.selectors import roi_figures_for, roi_rollup_totals_by_project

from ..findings.services import finding_close, finding_open
from ..models import Finding, FindingKind, Severity

SUBJECT_TYPE = "projects.aiproject"
DECAY_TITLE = "Value below plan: {project}"
DECAY_DETAIL = (
    "Actual value has been below {share}% of planned value for {run} consecutive month(s), since {since}"
    " (latest actuals: {through}). The rule flags {months} or more."
)
RECOVERED = "Actual value is no longer below {share}% of plan for {months} consecutive months (as of {through})."
NO_LONGER_ACTIVE = "The project is retired."


def projects_with_value_decay(*, today: dt.date | None = None) -> dict[int, RoiFigures]:
    """Every active project whose ledger shows value decay now: project id → its figures."""
    today = today or timezone.localdate()
    months = ROIMonthRollup.objects.filter(month__lte=month_start(today)).exclude(project__stage=Stage.RETIRED)
    out = {}
    for project_id, series in roi_rollup_totals_by_project(months).items():
        figures = roi_figures_for(series, as_of=today)
        if figures.value_decay:
            out[project_id] = figures
    return out


def _pct(share) -> str:
    return f"{share * 100:.0f}"


@transaction.atomic
def value_decay_check(*, today: dt.date | None = None) -> dict[str, int]:
    """Open a finding for each newly decaying project and resolve those of projects that recovered."""
    today = today or timezone.localdate()
    share, months = settings.KEEL_VALUE_DECAY_SHARE, settings.KEEL_VALUE_DECAY_MONTHS
    decaying = projects_with_value_decay(today=today)
    counts = {"opened": 0, "resolved": 0, "open": 0}

    open_findings = {
        int(f.subject_id): f
        for f in Finding.objects.select_for_update().filter(
            kind=FindingKind.VALUE_DECAY, subject_type=SUBJECT_TYPE, resolved_at=None
        )
    }
    last_opened = dict(
        Finding.objects.filter(kind=FindingKind.VALUE_DECAY, subject_type=SUBJECT_TYPE)
        .order_by()
        .values("subject_id")
        .annotate(last=Max("opened_at"))
        .values_list("subject_id", "last")
    )
    retired = set(
        AIProject.objects.filter(pk__in=list(open_findings), stage=Stage.RETIRED).values_list("pk", flat=True)
    )

    for project_id, finding in open_findings.items():
        if project_id in decaying:
            continue
        through = f"{today:%Y-%m}"
        resolution = (
            NO_LONGER_ACTIVE
            if project_id in retired
            else RECOVERED.format(share=_pct(share), months=months, through=through)
        )
        finding_close(finding, resolution)
        counts["resolved"] += 1

    projects = AIProject.objects.in_bulk([pid for pid in decaying if pid not in open_findings])
    for project_id, figures in sorted(decaying.items()):
        if project_id in open_findings:
            counts["open"] += 1
            continue
        last = last_opened.get(str(project_id))
        if last is not None and timezone.localdate(last) >= figures.decay_since:
            continue  # this episode already had its finding, which someone resolved by hand
        project = projects[project_id]
        try:
            with transaction.atomic():  # a concurrent run that opened it first wins; this one skips it
                finding_open(
                    kind=FindingKind.VALUE_DECAY,
                    severity=Severity.MEDIUM,
                    title=DECAY_TITLE.format(project=project.name),
                    detail=DECAY_DETAIL.format(
                        share=_pct(share),
                        run=figures.decay_run_months,
                        since=f"{figures.decay_since:%Y-%m}",
                        through=f"{figures.actuals_through:%Y-%m}",
                        months=months,
                    ),
                    subject_type=SUBJECT_TYPE,
                    subject_id=str(project_id),
                    project=project,
                    assignee=project.owner,
                    extra={
                        "decay_since": f"{figures.decay_since:%Y-%m}",
                        "decay_run_months": figures.decay_run_months,
                    },
                )
        except IntegrityError:
            continue
        counts["opened"] += 1
        counts["open"] += 1
    return counts
