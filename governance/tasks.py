"""Celery tasks of governance: they take ids, call one service, and own only the retry policy."""

from celery import shared_task


@shared_task(name="governance.tasks.mark_overdue_reviews", ignore_result=True, soft_time_limit=240, time_limit=300)
def mark_overdue_reviews() -> dict:
    """Daily: apply rules whose date has come, flag risks past their review date, open findings."""
    from .services import risk_reviews_mark_overdue, tier_assessments_apply_dated_rules

    reassessed = tier_assessments_apply_dated_rules()
    return {**risk_reviews_mark_overdue(), "reassessed": reassessed}
