"""`manage.py seed_portfolio --scale N --months M`: a large synthetic portfolio for benchmarks.

N projects spread over teams (one team per 100 projects, at least 5), every lifecycle stage and tier,
business cases mostly in EUR (some in USD and GBP, with monthly FX rates), and a ROI ledger of M months
ending this month: per project and month a planned value, a planned cost, and (for months already
started) an actual value and an actual cost, converted to the reporting currency as the ROI services
would. Deterministic for a given --seed.

A BENCHMARK SEEDER, NOT A WAY TO ENTER DATA: it writes with bulk_create, bypassing the services, so it
writes no audit events (the append-only trail is not what a dashboard benchmark measures, and 700,000
audited writes would take hours). Never run it against a database whose audit trail matters; it
refuses to run where its projects already exist (--prefix picks another name).

Governance data (risks, findings) is not seeded here: projects never imports governance. The
benchmark (scripts/bench_dashboard.py) adds risks itself.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from core.roles import Role
from projects.models import AIProject, FxRate, RiskTier, RoiBasis, RoiCategory, ROIEntry, RoiKind, Stage, Team
from projects.roi.figures import add_months, month_start, to_reporting
from projects.roi.rollup import roi_rollup_refresh_projects

User = get_user_model()

# Share of projects per stage, in lifecycle order.
STAGE_WEIGHTS = {
    Stage.IDEA: 15,
    Stage.DESIGN: 15,
    Stage.DEVELOPMENT: 25,
    Stage.VALIDATION: 15,
    Stage.PRODUCTION: 25,
    Stage.RETIRED: 5,
}
TIERS = ["", RiskTier.MINIMAL, RiskTier.LIMITED, RiskTier.HIGH]
# Currency and its rate to the reporting currency (drifting a little month by month).
CURRENCIES = [("USD", Decimal("0.92")), ("GBP", Decimal("1.16"))]
PROJECTS_PER_TEAM = 100
BATCH = 5000


class Command(BaseCommand):
    help = "Seed a synthetic portfolio (teams, projects, FX rates, ROI ledger) for benchmarks; no audit trail."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=int, default=1000, help="number of projects")
        parser.add_argument("--months", type=int, default=36, help="months of ROI entries, ending this month")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--prefix", default="portfolio", help="slug prefix of the seeded teams and projects")

    def handle(self, *args, scale: int, months: int, seed: int, prefix: str, **options):
        if scale < 1 or months < 1:
            raise CommandError("--scale and --months must be at least 1.")
        started = time.perf_counter()
        counts = seed_portfolio(scale=scale, months=months, seed=seed, prefix=prefix)
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Seeded {counts['teams']} teams, {counts['projects']} projects, {counts['fx_rates']} FX rates and "
            f"{counts['entries']} ROI entries in {seconds:.1f} s (no audit events: a benchmark seeder)."
        )


def _weighted_stages(rng: random.Random, n: int) -> list[str]:
    return rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()), k=n)


@transaction.atomic
def seed_portfolio(*, scale: int, months: int, seed: int = 7, prefix: str = "portfolio") -> dict[str, int]:
    """Seed and return what was written; see the module docstring."""
    if Team.objects.filter(slug__startswith=f"{prefix}-").exists():
        raise CommandError(f"A portfolio with the prefix {prefix!r} is already seeded; pass another --prefix.")
    rng = random.Random(seed)  # noqa: S311 (synthetic figures, reproducible by seed; nothing secret)
    reporting = settings.KEEL_REPORTING_CURRENCY
    this_month = month_start(timezone.localdate())
    first = add_months(this_month, -(months - 1))
    window = [add_months(first, k) for k in range(months)]
    teams = _seed_teams(prefix=prefix, scale=scale)
    rates, fx_count = _seed_fx_rates(window=window, next_month=add_months(this_month, 1), reporting=reporting)
    projects = _seed_projects(rng, scale=scale, teams=teams, prefix=prefix, reporting=reporting)
    total = _seed_ledger(rng, projects=projects, window=window, rates=rates, reporting=reporting)
    # The ledger went in around the services, so its roll-up is computed here, as the services would keep it.
    roi_rollup_refresh_projects(projects=AIProject.objects.filter(slug__startswith=f"{prefix}-"))
    return {"teams": len(teams), "projects": len(projects), "fx_rates": fx_count, "entries": total}


def _seed_teams(*, prefix: str, scale: int) -> list[Team]:
    """People and teams: one lead per team, who owns the team's projects and logged its ledger."""
    n_teams = max(5, -(-scale // PROJECTS_PER_TEAM))
    # An unusable password (the "!" prefix): these people cannot sign in.
    unusable = make_password(None)
    User.objects.bulk_create(
        [User(username=f"{prefix}-lead-{t:03d}", first_name="Lead", last_name=f"{t:03d}", password=unusable)
         for t in range(n_teams)]
    )  # fmt: skip
    leads = list(User.objects.filter(username__startswith=f"{prefix}-lead-").order_by("username"))
    Group.objects.get(name=Role.TEAM_LEAD).user_set.add(*leads)
    Team.objects.bulk_create(
        [Team(name=f"{prefix.capitalize()} team {t:03d}", slug=f"{prefix}-team-{t:03d}", lead=lead)
         for t, lead in enumerate(leads)]
    )  # fmt: skip
    return list(Team.objects.filter(slug__startswith=f"{prefix}-team-").order_by("slug"))


def _seed_fx_rates(*, window: list, next_month, reporting: str) -> tuple[dict[tuple[str, object], Decimal], int]:
    """FX rates for every month of the window (and the next, so a planned future month converts too).

    Returns the rates to convert with (rates already in the database win) and how many were offered."""
    rates: dict[tuple[str, object], Decimal] = {}
    fx = []
    for currency, base in CURRENCIES:
        if currency == reporting:
            continue
        for k, month in enumerate([*window, next_month]):
            rate = (base * (1 + Decimal(k % 7 - 3) / 100)).quantize(Decimal("0.00000001"))
            rates[currency, month] = rate
            fx.append(FxRate(currency=currency, month=month, rate=rate))
    FxRate.objects.bulk_create(fx, ignore_conflicts=True)
    for row in FxRate.objects.filter(month__gte=window[0]).values("currency", "month", "rate"):
        rates[row["currency"], row["month"]] = row["rate"]  # rates already there win (ignore_conflicts)
    return rates, len(fx)


def _seed_projects(rng: random.Random, *, scale: int, teams: list[Team], prefix: str, reporting: str) -> list[tuple]:
    """The projects, spread over the teams; returns (pk, currency, annual value, investment, lead id) rows."""
    stages = _weighted_stages(rng, scale)
    projects = []
    for i in range(scale):
        team = teams[i % len(teams)]
        r = rng.random()
        currency = "USD" if r < 0.10 else "GBP" if r < 0.15 else reporting
        investment = Decimal(rng.randrange(50, 2000) * 1000)
        projects.append(
            AIProject(
                name=f"{prefix.capitalize()} project {i:05d}",
                slug=f"{prefix}-{i:05d}",
                purpose="Synthetic project for benchmarks.",
                team=team,
                owner_id=team.lead_id,
                stage=stages[i],
                risk_tier=TIERS[i % len(TIERS)],
                currency=currency,
                expected_investment=investment,
                expected_annual_value=(investment * Decimal(rng.uniform(0.3, 4.0))).quantize(Decimal("1")),
                horizon_months=36,
            )
        )
    AIProject.objects.bulk_create(projects, batch_size=BATCH)
    return list(
        AIProject.objects.filter(slug__startswith=f"{prefix}-").values_list(
            "pk", "currency", "expected_annual_value", "expected_investment", "team__lead_id"
        )
    )


def _seed_ledger(rng: random.Random, *, projects: list[tuple], window: list, rates: dict, reporting: str) -> int:
    """The ledger: planned value and cost every month; actual value and cost every month (all are past or
    current). Written in batches so memory stays flat at any scale; returns how many entries."""
    rows: list[tuple] = []
    total = 0
    now = timezone.now()
    for pk, currency, annual_value, investment, lead_id in projects:
        rows += _project_entries(
            rng, pk=pk, currency=currency, annual_value=annual_value, investment=investment, lead_id=lead_id,
            window=window, rates=rates, reporting=reporting, now=now,
        )  # fmt: skip
        if len(rows) >= BATCH:
            _write_entries(rows)
            total, rows = total + len(rows), []
    _write_entries(rows)
    return total + len(rows)


# The columns _project_entries fills, in order: every column of ROIEntry but its id (a column added to the
# model later fails here loudly rather than being left out).
ENTRY_FIELDS = ("project", "month", "kind", "category", "basis", "amount", "currency", "amount_reporting",
                "evidence_url", "note", "logged_by", "created_at", "updated_at")  # fmt: skip


def _write_entries(rows: list[tuple]) -> None:
    """Insert ledger rows as plain tuples: COPY on PostgreSQL, one executemany elsewhere. bulk_create built a
    model instance and prepared every value one by one, several times the database's own work."""
    if not rows:
        return
    meta = ROIEntry._meta
    fields = [meta.get_field(name) for name in ENTRY_FIELDS]
    if {f.column for f in fields} != {f.column for f in meta.concrete_fields if not f.primary_key}:
        raise RuntimeError("seed_portfolio's ENTRY_FIELDS no longer match ROIEntry's columns")
    quote = connection.ops.quote_name
    table, columns = quote(meta.db_table), ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # Dates and times as the driver takes them, once per distinct value (36 months, one timestamp);
        # numbers and text as they are (what get_db_prep_save does for them).
        prepared: dict = {}
        times = [i for i, f in enumerate(fields) if isinstance(f, models.DateField)]

        def prepare(i, value):
            if (i, value) not in prepared:
                prepared[i, value] = fields[i].get_db_prep_save(value, connection)
            return prepared[i, value]

        marks = ", ".join(["%s"] * len(fields))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 - names from the model, values bound
            [tuple(prepare(i, v) if i in times else v for i, v in enumerate(row)) for row in rows],
        )


def _project_entries(
    rng: random.Random, *, pk, currency, annual_value, investment, lead_id, window, rates, reporting, now
) -> list[tuple]:
    """One project's four entries a month (ENTRY_FIELDS tuples): value ramps up over the first year, actuals
    vary around plan."""
    planned_value = (annual_value / 12).quantize(Decimal("0.01"))
    planned_cost = (investment / 36).quantize(Decimal("0.01"))
    performance = Decimal(rng.uniform(0.5, 1.3))
    entries = []
    for k, month in enumerate(window):
        ramp = Decimal(min(1.0, (k + 1) / 12))  # value ramps up over the first year
        noise = Decimal(rng.uniform(0.85, 1.15))
        amounts = (
            (RoiKind.VALUE, RoiCategory.COST_SAVING, RoiBasis.PLANNED, planned_value * ramp),
            (RoiKind.COST, RoiCategory.PEOPLE, RoiBasis.PLANNED, planned_cost),
            (RoiKind.VALUE, RoiCategory.COST_SAVING, RoiBasis.ACTUAL, planned_value * ramp * performance * noise),
            (RoiKind.COST, RoiCategory.PEOPLE, RoiBasis.ACTUAL, planned_cost * noise),
        )
        rate = Decimal(1) if currency == reporting else rates[currency, month]
        for kind, category, basis, amount in amounts:
            amount = amount.quantize(Decimal("0.01"))
            entries.append((pk, month, kind.value, category.value, basis.value, amount, currency,
                            to_reporting(amount, rate), "", "", lead_id, now, now))  # fmt: skip
    return entries
