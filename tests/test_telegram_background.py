"""Where no Celery worker runs (the embedded profile), Telegram's calls are made on a thread of
their own, with no transaction open: an advisor's message returns while Telegram is still
answering, the next is written meanwhile, and both arrive after, in order."""

import threading
from typing import Any

import pytest
from django.db import connection

from chat.models import Conversation
from chat.services.handoff import conversation_accept
from chat.services.kernel import staff_actor
from chat.services.message import message_send_staff
from messenger import background
from tests import factories
from tests.support.telegram_api import FakeTelegram
from tests.telegram_flow import telegram, to_queue

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["telegram"]
CHAT = 8101


def test_telegram_calls_never_hold_the_thread_that_queued_them(
    setup_queues: None, telegram: FakeTelegram, settings: Any
) -> None:
    to_queue(telegram, CHAT)  # in place: each button is pressed once its question is there
    settings.TELEGRAM = {**settings.TELEGRAM, "DELIVERY_THREAD": True}
    advisor = factories.staff()
    factories.StaffProfile.objects.filter(user=advisor).update(availability="on_shift")
    actor = staff_actor(user_id=advisor.pk)
    conversation = Conversation.objects.get(channel="telegram")
    conversation_accept(actor=actor, conversation_id=conversation.pk)
    background.wait_idle()
    assert telegram.bot_texts(CHAT)[-1].startswith("You are now talking to"), "sent by the delivery thread"

    telegram.gate.clear()  # Telegram takes the next message and does not answer
    sent: list[str] = []

    def advisor_sends(text: str) -> None:
        try:
            message_send_staff(actor=actor, conversation_id=conversation.pk, client_msg_id=text, text=text, kind="text")
            sent.append(text)
        finally:
            connection.close()

    first = threading.Thread(target=advisor_sends, args=["Still here"])
    second = threading.Thread(target=advisor_sends, args=["Take your time"])
    try:
        first.start()
        assert telegram.holding.wait(10), "the message never reached Telegram"
        first.join(timeout=5)
        assert sent == ["Still here"], "the advisor's send waited for Telegram"
        # Nothing is locked while Telegram answers: the next message is written meanwhile (on
        # SQLite an open transaction would hold the one write lock until Telegram answered).
        second.start()
        second.join(timeout=5)
        assert sent == ["Still here", "Take your time"], "a write waited for Telegram"
        assert "Still here" not in telegram.bot_texts(CHAT)
    finally:
        telegram.gate.set()
        first.join()
        second.join()
    background.wait_idle()
    assert telegram.bot_texts(CHAT)[-2:] == ["Still here", "Take your time"]
