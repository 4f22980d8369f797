"""Shared steps of the Telegram tests: the stand-in Bot API wired into the settings, and a visitor
taken through the bot's questions by pressing its buttons, every update posted to the webhook."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from config.celery import app as celery_app
from tests.support.telegram_api import SECRET, TOKEN, FakeTelegram

WEBHOOK = "/telegram/webhook/"
# The default flow's answers, as the buttons read (chat/defaults.py).
ANSWERS = ["No", "Yes", "Me", "English", "Someone to talk to", "Done"]


@pytest.fixture
def telegram(settings: Any) -> Iterator[FakeTelegram]:
    with FakeTelegram() as api:
        settings.TELEGRAM = {
            **settings.TELEGRAM,
            "BOT_TOKEN": TOKEN,
            "WEBHOOK_SECRET": SECRET,
            "PUBLIC_URL": "https://chat.example.org",
            "API_URL": api.url,
            "PER_CHAT_SECONDS": 0.0,
            "RETRY_SECONDS": 0.05,
            "SEND_ATTEMPTS": 4,
            # Counted per account and minute in the cache, which outlives a test: each test says
            # how many it allows when it checks the limit.
            "UPDATES_PER_MINUTE": 10_000,
            # In place and in order; tests/test_telegram_background.py runs the delivery thread.
            "DELIVERY_THREAD": False,
        }
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True  # as in the embedded profile, in the scaled run too
        try:
            yield api
        finally:
            celery_app.conf.task_always_eager = eager


def post(update: Any, *, secret: str = SECRET, raw: bytes | None = None) -> tuple[int, Any]:
    """POST to the webhook through the project's URLs and view, as Telegram does."""
    body = raw if raw is not None else json.dumps(update)
    response = Client().post(
        WEBHOOK, data=body, content_type="application/json", headers={"X-Telegram-Bot-Api-Secret-Token": secret}
    )
    return response.status_code, response.json()


def to_options(api: FakeTelegram, chat_id: int, answers: list[str] = ANSWERS) -> None:
    """/start, then every question answered by its button."""
    assert post(api.message_update(chat_id, "/start"))[0] == 200
    for label in answers:
        assert post(api.press_update(chat_id, label))[0] == 200


def to_queue(api: FakeTelegram, chat_id: int) -> None:
    to_options(api, chat_id)
    assert post(api.press_update(chat_id, "Talk to someone"))[0] == 200
