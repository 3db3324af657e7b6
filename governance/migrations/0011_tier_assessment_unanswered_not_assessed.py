"""Tier assessments whose answers were defaulted become "not assessed".

Until now an unanswered question was taken as "no" (or "none"), and the explanation said so in a line
"Not answered, so taken as ...: <ids>." For each project whose current assessment has such a line and
leaves a question that its given answers make relevant unanswered (tier_questions.visible_questions),
a new version is appended, by Keel itself: no tier, the given answers only, the unanswered questions
listed, and the project's tier cleared to "not assessed". Earlier versions stay as they were (history),
and each change is audited. A questionnaire submitted from the page posted every answer, so it has no
such line and is kept.
"""

import hashlib
import json

from django.db import migrations, models
from django.utils import timezone

DEFAULTED = "Not answered, so taken as "


def _defaulted_ids(explanation) -> set[str]:
    ids = set()
    for line in explanation or []:
        if isinstance(line, str) and line.startswith(DEFAULTED) and ": " in line:
            ids |= {i.strip() for i in line.split(": ", 1)[1].rstrip(".").split(",") if i.strip()}
    return ids


def mark_defaulted_not_assessed(apps, schema_editor):
    from core import audit
    from governance.risks.tier_questions import visible_questions

    assessment_model = apps.get_model("governance", "RiskTierAssessment")
    project_model = apps.get_model("projects", "AIProject")
    latest = {}
    for assessment in assessment_model.objects.order_by("project_id", "-version"):
        latest.setdefault(assessment.project_id, assessment)
    for current in latest.values():
        defaulted = _defaulted_ids(current.explanation)
        if not defaulted or not current.tier:
            continue
        given = {k: v for k, v in (current.answers or {}).items() if k not in defaulted}
        asked = visible_questions(given)
        missing = [q.id for q in asked if q.id not in given]
        if not missing:
            continue
        kept = {q.id: given[q.id] for q in asked if q.id in given}
        new = assessment_model.objects.create(
            project_id=current.project_id,
            version=current.version + 1,
            answers=kept,
            answers_hash=hashlib.sha256(json.dumps(kept, sort_keys=True, separators=(",", ":")).encode()).hexdigest(),
            tier="",
            route="",
            flags=[],
            unanswered=missing,
            explanation=[
                f"Not assessed: version {current.version} took unanswered questions as 'no' or 'none' and set the "
                f"tier {current.tier!r} from them. Keel no longer does; answer {', '.join(missing)} to set the tier."
            ],
            assessed_by=None,
            assessed_at=timezone.now(),
        )
        project_model.objects.filter(pk=current.project_id).update(risk_tier="")
        audit.record(
            actor=None,
            action="tier_assessment.marked_not_assessed",
            object_type="governance.risktierassessment",
            object_id=str(new.pk),
            before={"tier": current.tier, "version": current.version},
            after={"project": current.project_id, "version": new.version, "tier": "", "unanswered": missing},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0010_finding_kinds_unowned_model_acceptance_expired"),
    ]

    operations = [
        migrations.AddField(
            model_name="risktierassessment",
            name="unanswered",
            field=models.JSONField(
                blank=True, default=list, help_text="Relevant questions never answered; non-empty means not assessed."
            ),
        ),
        migrations.AlterField(
            model_name="risktierassessment",
            name="tier",
            field=models.CharField(
                blank=True,
                choices=[
                    ("prohibited", "Prohibited"),
                    ("high", "High risk"),
                    ("limited", "Limited risk"),
                    ("minimal", "Minimal risk"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(mark_defaulted_not_assessed, migrations.RunPython.noop),
    ]
