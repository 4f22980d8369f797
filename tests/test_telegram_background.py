"""Where no Celery worker runs (the embedded profile), Telegram's calls are made on a thread of
their own: an advisor's message returns while Telegram is still answering, and arrives after."""

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
    sent = threading.Event()

    def advisor_sends() -> None:
        try:
            message_send_staff(
                actor=actor, conversation_id=conversation.pk, client_msg_id="a-1", text="Still here", kind="text"
            )
            sent.set()
        finally:
            connection.close()

    sender = threading.Thread(target=advisor_sends)
    try:
        sender.start()
        assert telegram.holding.wait(10), "the message never reached Telegram"
        sender.join(timeout=5)
        assert sent.is_set() and not sender.is_alive(), "the advisor's send waited for Telegram"
        assert "Still here" not in telegram.bot_texts(CHAT)
    finally:
        telegram.gate.set()
        sender.join()
    background.wait_idle()
    assert telegram.bot_texts(CHAT)[-1] == "Still here"
