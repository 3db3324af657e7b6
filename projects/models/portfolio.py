from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from core.dates import validate_month


class Team(models.Model):
    """A business unit that owns AI projects; its lead and members may change its projects."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="teams_led"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(models.TextChoices):
    IDEA = "idea", "Idea"
    DESIGN = "design", "Design"
    DEVELOPMENT = "development", "Development"
    VALIDATION = "validation", "Validation"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"


STAGE_ORDER = tuple(Stage.values)  # once: `.values` builds its list from the enum on every read
# The lifecycle: forward one step at a time, back one step for rework, retire from anywhere.
# Nothing reaches production without passing validation; a retired project stays retired.
STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.IDEA: frozenset({Stage.DESIGN, Stage.RETIRED}),
    Stage.DESIGN: frozenset({Stage.DEVELOPMENT, Stage.IDEA, Stage.RETIRED}),
    Stage.DEVELOPMENT: frozenset({Stage.VALIDATION, Stage.DESIGN, Stage.RETIRED}),
    Stage.VALIDATION: frozenset({Stage.PRODUCTION, Stage.DEVELOPMENT, Stage.RETIRED}),
    Stage.PRODUCTION: frozenset({Stage.VALIDATION, Stage.RETIRED}),
    Stage.RETIRED: frozenset(),
}
# Stages a project may be registered at: an existing system can be entered mid-way, but
# validation and production are only reached through the guarded transitions.
INITIAL_STAGES = (Stage.IDEA, Stage.DESIGN, Stage.DEVELOPMENT)


class RiskTier(models.TextChoices):
    """The EU AI Act tier, as governance's latest tier assessment found it ("" = not assessed yet)."""

    PROHIBITED = "prohibited", "Prohibited"
    HIGH = "high", "High risk"
    LIMITED = "limited", "Limited risk"
    MINIMAL = "minimal", "Minimal risk"


class Health(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"


NOT_FIRST_OF_MONTH = "A month is stored as its first day (e.g. 2026-11-01), not {value}."


def first_of_month_validator(value: dt.date) -> None:
    """Months are dates on day 1, so that (project, month, …) is one key whatever day was typed."""
    if value is not None and value.day != 1:
        raise ValidationError(NOT_FIRST_OF_MONTH.format(value=value.isoformat()), code="not_first_of_month")


currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as EUR or USD.")


class AIProject(models.Model):
    """An AI system the organisation builds or runs: who owns it, where it is, what it should return."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True)
    purpose = models.TextField()
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="projects")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects")
    executive_sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sponsored_projects",
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.IDEA)
    stage_changed_at = models.DateTimeField(default=timezone.now)
    health = models.CharField(max_length=20, choices=Health.choices, default=Health.ON_TRACK)
    # Written only by governance's tier assessment service, in the assessment's transaction.
    risk_tier = models.CharField(max_length=20, choices=RiskTier.choices, blank=True, default="", editable=False)
    # Business case, in one explicit currency.
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    expected_investment = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    expected_annual_value = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    start_month = models.DateField(
        null=True,
        blank=True,
        validators=[first_of_month_validator, validate_month],
        help_text="The first month the business case counts from (the 1st of a month); blank: not set.",
    )
    horizon_months = models.PositiveSmallIntegerField(
        default=36, validators=[MinValueValidator(1), MaxValueValidator(240)], help_text="Months the case covers."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "AI project"
        indexes = [
            models.Index(fields=["stage"]),
            models.Index(fields=["team", "stage"]),
            # The portfolio's order (name, then id: the API's tie-break): a page of it is an index walk.
            models.Index(fields=["name", "id"], name="aiproject_name_order_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(stage__in=Stage.values), name="aiproject_stage_valid"),
            models.CheckConstraint(
                condition=models.Q(expected_investment__gte=0) & models.Q(expected_annual_value__gte=0),
                name="aiproject_business_case_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def allowed_next_stages(self) -> list[str]:
        return [s for s in STAGE_ORDER if s in STAGE_TRANSITIONS[self.stage]]
