"""The apps' tasks are bound to the project's Celery application without importing it: every task
Celery beat schedules is one the application knows."""

from django.conf import settings

from chat import tasks as chat_tasks
from config.celery import app


def test_every_scheduled_task_is_registered_with_the_application() -> None:
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)
    assert chat_tasks.grace_sweep.app is app
