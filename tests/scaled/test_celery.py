"""A real Celery worker on the Redis broker runs the grace-period sweep against PostgreSQL."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from chat import tasks
from chat.models import Conversation
from chat.services.sweeps import grace_sweep
from chat.services.visitor import conversation_start, triage_submit, visitor_create
from tests import factories
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]


def test_worker_runs_the_grace_sweep_once(settings) -> None:
    factories.queues()
    visitor, _ = visitor_create()
    conversation_start(visitor_id=visitor.pk, conn_id="gone")
    conversation = triage_submit(
        visitor_id=visitor.pk, answers={"safe_to_talk": "yes", "in_danger": "no", "about": "myself"}
    )
    Conversation.objects.filter(pk=conversation.pk).update(visitor_away_since=timezone.now() - timedelta(hours=1))

    with celery_worker() as queue:
        tasks.grace_sweep.apply_async(queue=queue)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            conversation.refresh_from_db()
            if conversation.state == Conversation.State.CLOSED:
                break
            time.sleep(0.2)
        assert conversation.state == Conversation.State.CLOSED
        assert conversation.close_reason == Conversation.CloseReason.VISITOR_LEFT
        closed_entries = conversation.messages.filter(event="closed").count()
        # Running it again changes nothing: the sweep is idempotent.
        assert grace_sweep() == {"closed": 0, "requeued": 0}
        assert conversation.messages.filter(event="closed").count() == closed_entries == 1
