"""Celery tasks (see chat/tasks.py for how they are bound to the project's application)."""

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True, ignore_result=True)
def sessions_clear() -> None:
    """Deletes expired staff sessions from the session store (they are refused anyway, but would
    otherwise stay in the database); idempotent."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
