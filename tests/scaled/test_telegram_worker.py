"""A real Celery worker on the Redis broker handles a Telegram chat against PostgreSQL: updates
acted on in order, deliveries retried through Telegram being down and a 429 (its retry_after
waited on the worker, by Celery's countdown), each message sent once."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from config.celery import app as celery_app
from messenger.models import TelegramOutbox
from tests import factories
from tests.support.telegram_api import SECRET, TOKEN, FakeTelegram
from tests.support.worker import celery_worker
from tests.telegram_flow import post

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]
CHAT = 6001


def _until(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the worker did not get there"
        time.sleep(0.1)


@pytest.fixture
def worker_bot(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    with FakeTelegram() as api:
        own = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_URL": api.url,
            "TELEGRAM_PER_CHAT_SECONDS": "0",
            "TELEGRAM_RETRY_SECONDS": "0.2",
        }
        for key, value in own.items():
            monkeypatch.setenv(key, value)  # the worker's settings
        settings.TELEGRAM = {**settings.TELEGRAM, "BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": SECRET, "API_URL": api.url}
        eager, default_queue = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
        with celery_worker() as queue:
            celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = False, queue
            try:
                yield api
            finally:
                celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = eager, default_queue


def test_worker_delivers_in_order_through_down_and_429(worker_bot: FakeTelegram) -> None:
    api = worker_bot
    factories.queues()
    assert post(api.message_update(CHAT, "/start")) == (200, {"ok": True, "duplicate": False})
    _until(lambda: api.bot_texts(CHAT)[-1:] == ["Are you in danger right now?"])

    api.flood, api.retry_after = 1, 1
    post(api.press_update(CHAT, "No"))
    _until(lambda: api.bot_texts(CHAT)[-1:] == ["Is it safe for you to chat now?"])
    sends = api.calls_of("sendMessage")[-2:]
    assert [c.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 1.0

    api.down = 2
    post(api.press_update(CHAT, "Yes"))
    _until(lambda: api.bot_texts(CHAT)[-1:] == ["Who is this about?"])
    methods = [(c.method, c.status) for c in api.calls[-5:]]
    assert methods == [
        ("answerCallbackQuery", 502),
        ("answerCallbackQuery", 502),
        ("answerCallbackQuery", 200),
        ("editMessageText", 200),
        ("sendMessage", 200),
    ]
    texts = api.bot_texts(CHAT)
    assert len(texts) == len(set(texts)) == 4  # the notice and three questions, each once
    assert not TelegramOutbox.objects.filter(state="pending").exists()
