"""Celery tasks of governance: they take ids, call one service, and own only the retry policy."""

from celery import shared_task


@shared_task(name="governance.tasks.mark_overdue_reviews", ignore_result=True, soft_time_limit=240, time_limit=300)
def mark_overdue_reviews() -> dict:
    """Daily: flag risks past their review date and open findings for the high and critical ones."""
    from .services import risk_reviews_mark_overdue

    return risk_reviews_mark_overdue()
