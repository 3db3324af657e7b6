import os
import socket

from celery import shared_task
from django.conf import settings

from .models import Heartbeat


@shared_task(name="core.tasks.heartbeat", ignore_result=True, **settings.KEEL_TASK_TIME_LIMITS["core.tasks.heartbeat"])
def heartbeat() -> None:
    """Scheduled by beat; its run on a worker is the worker's sign of life for /healthz."""
    from .services import heartbeat_record

    # Name the process that ran it, as the worker_ready heartbeat does, so /healthz says which worker is alive.
    heartbeat_record(name=Heartbeat.WORKER, detail=f"{socket.gethostname()}:{os.getpid()}")
