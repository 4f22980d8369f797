"""Celery tasks: thin, idempotent, acks_late. Bound to the project's Celery application
(config/celery.py) by whichever process loads it: the worker and beat (`celery -A config`), and
a web process through config/urls.py."""

from celery import shared_task

from chat import retention
from chat.services import sweeps


@shared_task(acks_late=True, ignore_result=True)
def grace_sweep() -> dict[str, int]:
    """Backstop for the sweeps each daphne process schedules after a disconnect."""
    return sweeps.grace_sweep()


@shared_task(acks_late=True, ignore_result=True)
def idle_close() -> int:
    """Closes chats left silent; idempotent."""
    return sweeps.idle_close()


@shared_task(acks_late=True, ignore_result=True)
def retention_purge() -> int:
    """Erases old chats not attached to a case, keeping their anonymous statistics; idempotent."""
    return retention.retention_purge()


@shared_task(acks_late=True, ignore_result=True)
def statistics_roll_up() -> int:
    return retention.statistics_roll_up()
