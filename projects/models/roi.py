"""The ROI ledger: what each project was planned to return and cost per month, what it actually did,
and the dated FX rates that turn every amount into the organisation's reporting currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from core.dates import validate_month

from .portfolio import currency_validator, first_of_month_validator


class RoiKind(models.TextChoices):
    VALUE = "value", "Value"
    COST = "cost", "Cost"


class RoiCategory(models.TextChoices):
    # value
    REVENUE_UPLIFT = "revenue_uplift", "Revenue uplift"
    COST_SAVING = "cost_saving", "Cost saving"
    RISK_AVOIDED = "risk_avoided", "Risk avoided"
    PRODUCTIVITY = "productivity", "Productivity"
    # cost
    COMPUTE = "compute", "Compute"
    PEOPLE = "people", "People"
    LICENCES = "licences", "Licences"
    DATA = "data", "Data"
    OTHER = "other", "Other"


VALUE_CATEGORIES: tuple[str, ...] = (
    RoiCategory.REVENUE_UPLIFT,
    RoiCategory.COST_SAVING,
    RoiCategory.RISK_AVOIDED,
    RoiCategory.PRODUCTIVITY,
)
COST_CATEGORIES: tuple[str, ...] = (
    RoiCategory.COMPUTE,
    RoiCategory.PEOPLE,
    RoiCategory.LICENCES,
    RoiCategory.DATA,
    RoiCategory.OTHER,
)
# Which categories each kind may carry; the database enforces the same (roientry_kind_category_agree).
CATEGORIES_BY_KIND: dict[str, tuple[str, ...]] = {RoiKind.VALUE: VALUE_CATEGORIES, RoiKind.COST: COST_CATEGORIES}


class RoiBasis(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTUAL = "actual", "Actual"


class FxRate(models.Model):
    """What one unit of a currency was worth in the reporting currency in one month."""

    currency = models.CharField(max_length=3, validators=[currency_validator])
    month = models.DateField(validators=[first_of_month_validator, validate_month], help_text="First day of the month.")
    rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        validators=[MinValueValidator(Decimal("0.00000001"))],
        help_text="1 unit of the currency = this many units of the reporting currency.",
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-month", "currency"]
        verbose_name = "FX rate"
        constraints = [
            models.UniqueConstraint(fields=["currency", "month"], name="fxrate_unique_currency_month"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fxrate_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.month:%Y-%m} = {self.rate}"


class ROIEntry(models.Model):
    """One planned or actual amount of value or cost for one project, month and category."""

    project = models.ForeignKey("projects.AIProject", on_delete=models.CASCADE, related_name="roi_entries")
    month = models.DateField(validators=[first_of_month_validator, validate_month], help_text="First day of the month.")
    kind = models.CharField(max_length=10, choices=RoiKind.choices)
    category = models.CharField(max_length=20, choices=RoiCategory.choices)
    basis = models.CharField(max_length=10, choices=RoiBasis.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, validators=[currency_validator])
    # Written only by the ROI services: amount × the FX rate of (currency, month) when it was written.
    amount_reporting = models.DecimalField(max_digits=16, decimal_places=2, editable=False)
    evidence_url = models.URLField(max_length=500, blank=True)
    note = models.TextField(blank=True)
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "project_id", "kind", "category", "basis"]
        verbose_name = "ROI entry"
        verbose_name_plural = "ROI entries"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "month", "kind", "category", "basis"], name="roientry_unique_key"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind=RoiKind.VALUE, category__in=VALUE_CATEGORIES)
                    | models.Q(kind=RoiKind.COST, category__in=COST_CATEGORIES)
                ),
                name="roientry_kind_category_agree",
            ),
            models.CheckConstraint(condition=models.Q(basis__in=RoiBasis.values), name="roientry_basis_valid"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0) & models.Q(amount_reporting__gte=0),
                name="roientry_amount_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "month"]),
            # A month's entries with the API list's sort keys (projects/api/roi.py): its page selects its ids
            # from this index alone (core.queries.ids_first). Serves every lookup by month too.
            models.Index(fields=["month", "project", "kind", "category", "basis"], name="roientry_month_keys_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.basis} {self.kind}/{self.category} {self.amount} {self.currency}"

    def clean(self) -> None:
        super().clean()
        if self.kind in CATEGORIES_BY_KIND and self.category and self.category not in CATEGORIES_BY_KIND[self.kind]:
            allowed = ", ".join(CATEGORIES_BY_KIND[self.kind])
            raise ValidationError(
                {"category": [f"{self.category!r} is not a {self.kind} category. {self.kind} categories: {allowed}."]}
            )


class ROIEntryDeletion(models.Model):
    """A deleted ROI entry, kept so that the deletion can be undone (restored) without losing data."""

    project = models.ForeignKey("projects.AIProject", on_delete=models.CASCADE, related_name="roi_deletions")
    entry_id = models.BigIntegerField(help_text="The id the entry had; a restore gives it back when it is free.")
    # The entry as it was (ROI_FIELDS, JSON values): month, kind, category, basis, amount, currency, ...
    entry = models.JSONField()
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(default=timezone.now)
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-deleted_at", "-id"]
        indexes = [models.Index(fields=["project", "restored_at", "deleted_at"])]

    def __str__(self) -> str:
        return f"deleted ROI entry #{self.entry_id} of {self.entry.get('month', '?')}"

    @property
    def as_entry(self) -> ROIEntry:
        """The entry as it was (unsaved), to show it with the ledger's labels."""
        kept = self.entry
        return ROIEntry(
            project_id=self.project_id, month=dt.date.fromisoformat(kept["month"]), kind=kept["kind"],
            category=kept["category"], basis=kept["basis"], amount=Decimal(kept["amount"]), currency=kept["currency"],
            evidence_url=kept["evidence_url"], note=kept["note"], logged_by_id=kept["logged_by"],
        )  # fmt: skip


class ROIMonthRollup(models.Model):
    """One project's ledger totals for one month in the reporting currency: derived data, kept equal to the
    ROI entries by projects/roi/rollup.py in the same transaction as every ledger write."""

    project = models.ForeignKey("projects.AIProject", on_delete=models.CASCADE, related_name="roi_rollups")
    month = models.DateField()
    planned_value = models.DecimalField(max_digits=18, decimal_places=2)
    planned_cost = models.DecimalField(max_digits=18, decimal_places=2)
    actual_value = models.DecimalField(max_digits=18, decimal_places=2)
    actual_cost = models.DecimalField(max_digits=18, decimal_places=2)
    # How many actual entries the month has: "an actual was logged" even when it is 0.
    actual_n = models.PositiveIntegerField()

    class Meta:
        verbose_name = "ROI month roll-up"
        constraints = [models.UniqueConstraint(fields=["project", "month"], name="roimonthrollup_unique_cell")]
        indexes = [models.Index(fields=["month"])]

    def __str__(self) -> str:
        return f"roll-up of project #{self.project_id} for {self.month:%Y-%m}"


class _SummedCells(models.Model):
    """The figures the group and team roll-ups share: sums of ROIMonthRollup cells in the reporting currency."""

    planned_value = models.DecimalField(max_digits=20, decimal_places=2)
    planned_cost = models.DecimalField(max_digits=20, decimal_places=2)
    actual_value = models.DecimalField(max_digits=20, decimal_places=2)
    actual_cost = models.DecimalField(max_digits=20, decimal_places=2)
    actual_n = models.PositiveIntegerField()
    # The plan of the group's projects that logged an actual for the month: the in-progress month's plan to
    # date (governance/dashboard/to_date.py) is taken per project, so it cannot be derived from the sums above.
    planned_value_reported = models.DecimalField(max_digits=20, decimal_places=2)
    planned_cost_reported = models.DecimalField(max_digits=20, decimal_places=2)
    cells = models.PositiveIntegerField()  # the ROIMonthRollup rows summed here

    class Meta:
        abstract = True


class ROIGroupMonthRollup(_SummedCells):
    """The ROI roll-up summed once more, per (team, stage, tier) group of projects and month: what the portfolio
    dashboard reads for its monthly series, so its cost follows the number of groups (bounded by teams × stages
    × tiers) rather than the number of projects. Derived data, kept equal to ROIMonthRollup by
    projects/roi/rollup.py in the same transaction as every ledger write and every change of a project's
    team, stage or tier."""

    team = models.ForeignKey("projects.Team", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=20)
    risk_tier = models.CharField(max_length=20, blank=True)
    month = models.DateField()

    class Meta:
        verbose_name = "ROI group month roll-up"
        constraints = [
            models.UniqueConstraint(fields=["team", "stage", "risk_tier", "month"], name="roigrouprollup_unique_cell")
        ]

    def __str__(self) -> str:
        return f"roll-up of team #{self.team_id} {self.stage}/{self.risk_tier or '-'} for {self.month:%Y-%m}"


class ROITeamMonthRollup(_SummedCells):
    """The group roll-up summed once more per team and month: what the dashboard reads when its projects are
    whole teams (every project, or a team, as executives and team leads see it without a stage or tier
    filter), so that read follows teams × months. Derived data, kept equal to ROIGroupMonthRollup by
    projects/roi/rollup.py in the same transactions."""

    team = models.ForeignKey("projects.Team", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()

    class Meta:
        verbose_name = "ROI team month roll-up"
        constraints = [models.UniqueConstraint(fields=["team", "month"], name="roiteamrollup_unique_cell")]

    def __str__(self) -> str:
        return f"roll-up of team #{self.team_id} for {self.month:%Y-%m}"
