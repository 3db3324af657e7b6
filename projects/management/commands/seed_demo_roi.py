"""Demo ROI ledger for the embedded mode: 12-18 months of planned and actual value and cost for the
demo projects (run after seed_demo), and monthly USD and GBP rates into the reporting currency.

The months end with last month, so the demo always looks current. Amounts are derived from each
project's business case with a per-project pseudo-random spread (seeded by its slug), so a second
run writes the same figures: the import upserts on the entry key, so it finds them in place and
writes nothing. One project ("Support chatbot") shows value decay: its actual value has fallen to
about half of plan over the last months.
"""

from __future__ import annotations

import random
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from projects.models import AIProject, FxRate, Stage
from projects.roi import import_service as roi_import_service
from projects.roi import services as roi_services
from projects.roi.figures import add_months
from projects.roi.forms import this_month
from projects.roi.importer import ImportRow

# Months of history by stage, and the month (from the start) the value starts to flow.
HISTORY = {Stage.PRODUCTION: 18, Stage.VALIDATION: 14, Stage.DEVELOPMENT: 12, Stage.RETIRED: 12}
GO_LIVE = {Stage.PRODUCTION: 5, Stage.VALIDATION: 16, Stage.DEVELOPMENT: 18, Stage.RETIRED: 4}
PLAN_AHEAD = 6  # months of plan after last month
VALUE_CATEGORY = {
    "Claims": "cost_saving",
    "Customer Service": "productivity",
    "Marketing": "revenue_uplift",
    "Operations": "cost_saving",
    "Risk Analytics": "risk_avoided",
}
DECAYING = "Support chatbot"
USD_LICENCES = {"Support chatbot", "Call summarisation", "Churn prediction", "Credit scoring"}
GBP_PROJECTS = {"Dynamic pricing"}
FX_BASE = {"USD": Decimal("0.92"), "GBP": Decimal("1.17")}
CENT = Decimal("0.01")


def _money(x) -> str:
    return str(Decimal(x).quantize(CENT))


class Command(BaseCommand):
    help = "Load a demo ROI ledger and FX rates for the demo projects (embedded mode only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow outside the embedded/debug mode")

    def handle(self, *args, force: bool, **options):
        if not (settings.EMBEDDED or settings.DEBUG or force):
            raise CommandError("seed_demo_roi writes demo figures; run it only in the embedded mode.")
        if roi_services.reporting_currency() != "EUR":
            self.stdout.write("Demo ROI skipped: the demo figures are in EUR, the reporting currency is not.")
            return
        last = add_months(this_month(), -1)
        first = add_months(last, -max(HISTORY.values()) + 1)
        rates = self.seed_rates(first, add_months(last, PLAN_AHEAD))
        totals = {"created": 0, "updated": 0, "unchanged": 0}
        projects = AIProject.objects.select_related("team", "owner").filter(stage__in=list(HISTORY)).order_by("name")
        for project in projects:
            rows = self.rows_for(project, last)
            result = roi_import_service.roi_entries_import(
                project_or_none=project, rows=rows, by=None, logged_by=project.owner
            )
            for key in totals:
                totals[key] += getattr(result, key)
        self.stdout.write(
            f"Demo ROI: {projects.count()} projects, {sum(totals.values())} entries "
            f"({totals['created']} created, {totals['updated']} changed now); {rates} FX rates "
            f"into {roi_services.reporting_currency()}."
        )

    def seed_rates(self, first, last) -> int:
        """A gently drifting monthly rate per currency into EUR."""
        month, n = first, 0
        while month <= last:
            for currency, base in FX_BASE.items():
                rng = random.Random(f"{currency}{month:%Y%m}")  # noqa: S311 - demo figures, not security
                rate = (base * Decimal(str(1 + rng.uniform(-0.03, 0.03)))).quantize(Decimal("0.0001"))
                roi_services.fx_rate_set(by=None, currency=currency, month=month, rate=rate)
                n += 1
            month = add_months(month, 1)
        return FxRate.objects.count() if n else 0

    def rows_for(self, project: AIProject, last) -> list[ImportRow]:
        rng = random.Random(project.slug)  # noqa: S311 - demo figures, not security
        months = HISTORY[project.stage]
        start = add_months(last, -months + 1)
        go_live = GO_LIVE[project.stage]
        build_months = max(go_live, 1)
        investment = project.expected_investment
        monthly_value = project.expected_annual_value / 12
        run_cost = investment * Decimal("0.015")
        value_category = VALUE_CATEGORY.get(project.team.name, "productivity")
        currency = "GBP" if project.name in GBP_PROJECTS else ""
        fx = FX_BASE.get(currency, Decimal(1))
        plan_end = add_months(last, PLAN_AHEAD) if project.stage != Stage.RETIRED else last
        rows: list[dict] = []

        def add(month, kind, category, basis, amount, cur=currency, note=""):
            if amount > 0:
                rows.append({
                    "month": f"{month:%Y-%m}", "kind": kind, "category": category, "basis": basis,
                    "amount": _money(amount), "currency": cur, "note": note,
                })  # fmt: skip

        t, month = 0, start
        while month <= plan_end:
            live = t >= go_live
            ramp = min(Decimal(1), Decimal(t - go_live + 1) / 4) if live else Decimal(0)
            # The plan, in the project's currency (GBP amounts are the EUR case divided by the rate).
            build = investment / build_months if t < build_months else Decimal(0)
            add(month, "cost", "people", "planned", build * Decimal("0.7") / fx)
            add(month, "cost", "compute", "planned", (build * Decimal("0.2") + (run_cost if live else 0)) / fx)
            add(month, "cost", "licences", "planned", (build * Decimal("0.1") + run_cost / 2) / fx)
            add(month, "value", value_category, "planned", monthly_value * ramp / fx)
            if month <= last:
                spread = Decimal(str(rng.uniform(0.9, 1.15)))
                add(month, "cost", "people", "actual", build * Decimal("0.7") * spread / fx)
                compute = build * Decimal("0.2") + (run_cost if live else 0)
                add(month, "cost", "compute", "actual", compute * Decimal(str(rng.uniform(0.85, 1.3))) / fx)
                licences = (build * Decimal("0.1") + run_cost / 2) * Decimal(str(rng.uniform(0.95, 1.05)))
                if project.name in USD_LICENCES:
                    add(month, "cost", "licences", "actual", licences / FX_BASE["USD"], cur="USD",
                        note="Vendor invoice in USD")  # fmt: skip
                else:
                    add(month, "cost", "licences", "actual", licences / fx)
                realised = Decimal(str(rng.uniform(0.85, 1.2)))
                if project.name == DECAYING and months_before(last, month) < 4:
                    realised = Decimal(str(rng.uniform(0.4, 0.6)))  # the decaying demo project
                add(month, "value", value_category, "actual", monthly_value * ramp * realised / fx)
            t, month = t + 1, add_months(month, 1)
        return [ImportRow(line=i, values=row) for i, row in enumerate(rows, start=1)]


def months_before(last, month) -> int:
    return (last.year - month.year) * 12 + last.month - month.month
