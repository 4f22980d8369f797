"""Outgoing Telegram messages: in order and once, through Telegram being down (tried again), a
429 (its retry_after waited), and a refusal (the advisor told, never tried again)."""

from typing import Any

import pytest
from django.core.management import call_command

from chat.models import Message
from messenger import tasks
from messenger.models import TelegramChat, TelegramOutbox
from tests.support.telegram_api import FakeTelegram
from tests.telegram_flow import post, telegram, to_options, to_queue

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["telegram"]
CHAT = 9001


def _sent_texts(api: FakeTelegram) -> list[str]:
    return [str(c.params["text"]) for c in api.calls_of("sendMessage") if c.status == 200]


def test_telegram_down_is_tried_again_in_order(setup_queues: None, telegram: FakeTelegram) -> None:
    to_options(telegram, CHAT)
    telegram.down = 2  # the next two calls answer 502
    post(telegram.press_update(CHAT, "Talk to someone"))
    failed = [c for c in telegram.calls if c.status == 502]
    assert len(failed) == 2 and {c.method for c in failed} == {"answerCallbackQuery"}
    # Then the same call again, and what follows it, once each.
    assert [c.method for c in telegram.calls[-3:]] == ["answerCallbackQuery", "answerCallbackQuery", "sendMessage"]
    assert [c.status for c in telegram.calls[-3:]] == [502, 200, 200]
    assert "You are number 1 in the queue." in _sent_texts(telegram)[-1]
    assert not TelegramOutbox.objects.filter(state="pending").exists()


def test_telegram_down_for_long_waits_for_the_sweep(setup_queues: None, telegram: FakeTelegram) -> None:
    to_options(telegram, CHAT)
    telegram.down = 100
    post(telegram.press_update(CHAT, "Talk to someone"))
    assert len(telegram.calls_of("answerCallbackQuery")) >= 4  # SEND_ATTEMPTS, then left pending
    pending = TelegramOutbox.objects.filter(state="pending").order_by("id")
    assert [row.kind for row in pending] == ["answer", "send"]
    telegram.down = 0
    tasks.telegram_sweep()
    assert not TelegramOutbox.objects.filter(state="pending").exists()
    assert "You are number 1 in the queue." in _sent_texts(telegram)[-1]


def test_429_waits_retry_after(setup_queues: None, telegram: FakeTelegram) -> None:
    to_options(telegram, CHAT)
    telegram.flood, telegram.retry_after = 1, 1
    post(telegram.press_update(CHAT, "Talk to someone"))
    sends = telegram.calls_of("sendMessage")[-2:]
    assert [c.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 1.0
    assert len([t for t in _sent_texts(telegram) if "in the queue" in t]) == 1


def test_a_blocked_bot_is_reported_and_never_retried(setup_queues: None, telegram: FakeTelegram) -> None:
    to_queue(telegram, CHAT)
    telegram.blocked.add(CHAT)
    post(telegram.message_update(CHAT, None))  # a photo: the bot's answer is refused
    refused = [c for c in telegram.calls if c.status == 403]
    assert len(refused) == 1
    report = Message.objects.get(event="channel_unreachable")
    assert report.public_seq is None  # staff only
    assert "can no longer reach this visitor on Telegram" in report.text
    assert TelegramChat.objects.get().unreachable is True
    post(telegram.message_update(CHAT, "are you there?"))  # their messages still reach the advisor
    assert Message.objects.filter(sender_kind="visitor", text="are you there?").exists()
    tasks.telegram_sweep()
    assert len([c for c in telegram.calls if c.status == 403]) == 1
    assert Message.objects.filter(event="channel_unreachable").count() == 1


def test_the_visitor_blocking_the_bot_is_reported(setup_queues: None, telegram: FakeTelegram) -> None:
    to_queue(telegram, CHAT)
    post(telegram.blocked_update(CHAT))
    assert Message.objects.filter(event="channel_unreachable", public_seq__isnull=True).count() == 1
    calls = len(telegram.calls)
    tasks.telegram_sweep()
    assert len(telegram.calls) == calls


def test_chat_not_found_is_reported(setup_queues: None, telegram: FakeTelegram) -> None:
    to_queue(telegram, CHAT)
    telegram.gone.add(CHAT)
    post(telegram.message_update(CHAT, None))
    assert Message.objects.filter(event="channel_unreachable").count() == 1


def test_webhook_command_sets_shows_and_deletes(telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("telegram_webhook", "set")
    assert telegram.webhook == {
        "url": "https://chat.example.org/telegram/webhook/",
        "secret_token": "webhook-secret-for-tests",
    }
    call_command("telegram_webhook", "info")
    assert "url: https://chat.example.org/telegram/webhook/" in capsys.readouterr().out
    call_command("telegram_webhook", "delete")
    assert telegram.webhook == {}


def test_polling_handles_updates_as_the_webhook_does(setup_queues: None, telegram: FakeTelegram) -> None:
    update = telegram.message_update(CHAT, "/start")
    telegram.pending_updates = [update, update]
    call_command("telegram_poll", "--once", "--timeout", "0")
    assert telegram.bot_texts(CHAT)[0].startswith("Before we start")
    assert len(telegram.bot_texts(CHAT)) == 2


def test_telegram_down_for_a_day_is_given_up_and_reported(
    setup_queues: None, telegram: FakeTelegram, settings: Any
) -> None:
    to_options(telegram, CHAT)
    telegram.down = 1000
    post(telegram.press_update(CHAT, "Talk to someone"))
    settings.TELEGRAM = {**settings.TELEGRAM, "GIVE_UP_HOURS": 0}
    tasks.telegram_sweep()
    assert not TelegramOutbox.objects.filter(state="pending").exists()
    report = Message.objects.get(event="channel_undelivered")
    assert report.public_seq is None and "could not be reached" in report.text
