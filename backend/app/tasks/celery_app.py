"""The Celery app: broker and result backend from REDIS_URL.

Run a worker with `celery -A app.tasks.celery_app worker`."""

from __future__ import annotations

from celery import Celery

from app.core.config import get_settings


def _broker_url() -> str:
    url = get_settings().REDIS_URL
    # memory:// is a Redis inside this process: no worker could reach it, so Celery gets its own
    # in-memory transport (the app runs evaluations in-process in that mode anyway).
    return "memory://" if url.startswith("memory://") else url


celery_app = Celery(
    "hireez",
    broker=_broker_url(),
    backend=None if _broker_url() == "memory://" else _broker_url(),
    include=["app.tasks.evaluation"],
)
celery_app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    result_expires=3600,
)
