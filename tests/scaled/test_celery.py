"""A real Celery worker on the Redis broker runs the grace-period sweep against PostgreSQL."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from chat import services, tasks
from chat.models import Conversation
from chat.protocol import TriageAnswers
from tests import factories

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def test_worker_runs_the_grace_sweep_once(settings) -> None:  # type: ignore[no-untyped-def]
    factories.queues()
    visitor, _ = services.visitor_create()
    services.conversation_start(visitor_id=visitor.pk, conn_id="gone")
    conversation = services.triage_submit(
        visitor_id=visitor.pk, answers=TriageAnswers(safe_to_talk=True, in_danger=False, about="myself")
    )
    Conversation.objects.filter(pk=conversation.pk).update(visitor_away_since=timezone.now() - timedelta(hours=1))

    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": queue,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        tasks.grace_sweep.apply_async(queue=queue)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            conversation.refresh_from_db()
            if conversation.state == Conversation.State.CLOSED:
                break
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else ""
            time.sleep(0.2)
        assert conversation.state == Conversation.State.CLOSED
        assert conversation.close_reason == Conversation.CloseReason.VISITOR_LEFT
        closed_entries = conversation.messages.filter(event="closed").count()
        # Running it again changes nothing: the sweep is idempotent.
        assert services.grace_sweep() == {"closed": 0, "requeued": 0}
        assert conversation.messages.filter(event="closed").count() == closed_entries == 1
    finally:
        worker.terminate()
        worker.wait(10)
