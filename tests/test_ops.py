"""Health, metrics and logs."""

import json
import logging

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from pythonjsonlogger.json import JsonFormatter

from config.logfilters import NoClientAddress
from tests import factories
from tests.support.ws import advisor_on_shift, visitor_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_readiness() -> object:
    from config.health import forget_readiness

    forget_readiness()
    yield
    forget_readiness()


def test_health_reports_each_dependency(settings) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        body = Client().get("/healthz/ready").json()
        assert body["checks"]["celery"] == {"ok": True, "mode": "eager"}
    else:
        from tests.support.worker import celery_worker

        with celery_worker():
            body = Client().get("/healthz/ready").json()
        assert body["checks"]["redis"]["ok"] is True
        assert body["checks"]["celery"]["ok"] is True and body["checks"]["celery"]["workers"] >= 1
    assert body["status"] == "ok", body
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.scaled
def test_health_reports_a_stopped_redis_and_no_celery_worker(settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = Client().get("/healthz/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError", "ms": body["checks"]["redis"]["ms"]}


def test_metrics_count_queues_and_staff(settings) -> None:
    from chat.services.visitor import conversation_start, triage_submit, visitor_create

    factories.queues()
    factories.staff()
    visitor, _ = visitor_create()
    conversation_start(visitor_id=visitor.pk, conn_id="c")
    triage_submit(visitor_id=visitor.pk, answers={"safe_to_talk": "yes", "in_danger": "no", "about": "myself"})
    text = Client().get("/metrics").content.decode()
    assert 'chat_queue_length{queue="general"} 1.0' in text
    assert 'chat_queue_length{queue="perpetrator"} 0.0' in text
    assert 'chat_conversations{state="queued"} 1.0' in text
    assert 'chat_staff{availability="off_shift"} 1.0' in text
    assert "chat_frame_handling_seconds" in text

    settings.METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


SECRET_TEXT = "my partner took my phone at 4pm"
CLIENT_ADDRESS = "203.0.113.77"


async def test_logs_never_hold_message_text_or_client_address(caplog: pytest.LogCaptureFixture) -> None:
    await sync_to_async(factories.queues)()
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    caplog.set_level(logging.DEBUG)
    visitor = visitor_socket()
    visitor.communicator.scope["client"] = (CLIENT_ADDRESS, 40000)
    await visitor.connect()
    await visitor.ok("hello")
    started = await visitor.ok("conversation.start")
    await visitor.ok("triage.submit", answers={"safe_to_talk": "yes", "in_danger": "no", "about": "myself"})
    await advisor.ok("conversation.accept", conversation_id=started["conversation_id"])
    await visitor.ok("message.send", client_msg_id="m1", text=SECRET_TEXT)
    await advisor.ok("message.send", conversation_id=started["conversation_id"], client_msg_id="a1", text=SECRET_TEXT)
    await visitor.error("message.send", client_msg_id="m2", text="x" * 5000)  # a refused frame is logged too
    await visitor.send_raw("not json " + SECRET_TEXT)
    await visitor.expect("reply", ok=False)
    await visitor.ok("quick_exit")
    await visitor.close()
    await advisor.close()

    @sync_to_async
    def http_requests() -> None:
        client = Client(REMOTE_ADDR=CLIENT_ADDRESS)
        client.post("/accounts/login/", {"username": "nobody", "password": SECRET_TEXT})
        client.get("/no-such-page/")

    await http_requests()
    formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    scrub = NoClientAddress()
    lines = []
    for record in caplog.records:
        scrub.filter(record)
        lines.append(formatter.format(record))
    assert lines, "expected some log records"
    joined = "\n".join(lines)
    assert SECRET_TEXT not in joined
    assert CLIENT_ADDRESS not in joined
    for line in lines:
        json.loads(line)
