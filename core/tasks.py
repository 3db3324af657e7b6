from celery import shared_task

from .models import Heartbeat


@shared_task(name="core.tasks.heartbeat", ignore_result=True, time_limit=30)
def heartbeat() -> None:
    """Scheduled by beat; its run on a worker is the worker's sign of life for /healthz."""
    from .services import heartbeat_record

    heartbeat_record(name=Heartbeat.WORKER)
