"""A Telegram visitor and an advisor in the console: the advisor takes the chat from the same
queue, talks both ways, sees the channel only as a label; /exit ends the chat as the widget's
quick exit does and deletes the chat's messages from Telegram."""

import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat import figures, reports, retention
from chat.models import Conversation, Message
from messenger.models import TelegramChat
from risk import services as risk
from risk import snapshots
from tests import factories
from tests.support.telegram_api import FakeTelegram
from tests.support.ws import advisor_on_shift, queued_visitor
from tests.telegram_flow import post, telegram, to_queue

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["telegram"]
CHAT = 8001


async def _post(update: dict[str, Any]) -> None:
    status, _ = await sync_to_async(post, thread_sensitive=False)(update)
    assert status == 200


async def test_triage_queue_accept_talk_and_exit(setup_queues: None, telegram: FakeTelegram) -> None:
    advisor_user = await factories.staff_async()
    advisor = await advisor_on_shift(advisor_user)
    await sync_to_async(to_queue, thread_sensitive=False)(telegram, CHAT)

    snapshot = await advisor.expect("queue", queue="general", length=1)
    waiting = snapshot["entries"][0]
    assert waiting["channel"] == "telegram" and waiting["triage"]["about"] == "myself"
    taken = await advisor.ok("queue.take_next")
    summary = taken["conversation"]
    conversation_id = summary["conversation_id"]
    assert summary["channel"] == "telegram" and summary["state"] == "active"
    assert summary["visitor_connected"] is True
    assert telegram.bot_texts(CHAT)[-1] == f"You are now talking to {advisor_user.staff.display_name}."

    await _post(telegram.message_update(CHAT, "Hello, is anyone there?"))
    got = await advisor.expect("entry", sender_kind="visitor")
    assert got["text"] == "Hello, is anyone there?"

    await advisor.ok("typing", conversation_id=conversation_id, active=True)
    assert [c.params["action"] for c in telegram.calls_of("sendChatAction")] == ["typing"]
    sent = await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id="a-1", text="Yes. I'm here.")
    assert telegram.bot_texts(CHAT)[-1] == "Yes. I'm here."
    receipt = await advisor.expect("receipt", by="visitor", seq=sent["seq"])  # Telegram took it
    assert receipt["status"] == "delivered"
    # A note stays with staff.
    await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id="a-2", text="note", kind="note")
    assert telegram.bot_texts(CHAT)[-1] == "Yes. I'm here."

    sent_before_exit = len(telegram.calls_of("sendMessage"))
    exit_started = time.monotonic()
    await _post(telegram.message_update(CHAT, "/exit"))
    quick_exit = await advisor.expect("entry", event="quick_exit")
    assert quick_exit["text"] == "The visitor used quick exit."
    await advisor.expect("entry", event="closed")
    conversation = await Conversation.objects.aget(pk=conversation_id)
    assert conversation.state == "closed" and conversation.close_reason == "quick_exit"

    # Every message of the chat deleted, the visitor's and the bot's; nothing said afterwards.
    assert telegram.chat(CHAT) == []
    deleted = [c for c in telegram.calls_of("deleteMessages") if c.at >= exit_started]
    assert len(deleted) == 1 and len(deleted[0].params["message_ids"]) == len(telegram.messages)
    assert len(telegram.calls_of("sendMessage")) == sent_before_exit
    link = await TelegramChat.objects.aget(conversation_id=conversation_id)
    assert link.chat_id is None and link.messages == [] and link.phase == "finished"

    # The advisor can no longer send to it.
    code = await advisor.error("message.send", conversation_id=conversation_id, client_msg_id="a-3", text="hi")
    assert code == "conversation_closed"
    assert await Message.objects.filter(conversation_id=conversation_id, sender_kind="visitor").acount() == 1
    await advisor.close()


async def test_an_ended_chat_says_so_then_forgets_the_chat(setup_queues: None, telegram: FakeTelegram) -> None:
    advisor_user = await factories.staff_async()
    advisor = await advisor_on_shift(advisor_user)
    await sync_to_async(to_queue, thread_sensitive=False)(telegram, CHAT)
    taken = await advisor.ok("queue.take_next")
    conversation_id = taken["conversation"]["conversation_id"]
    await advisor.ok("conversation.end", conversation_id=conversation_id, outcome="emotional_support")
    assert telegram.bot_texts(CHAT)[-1].startswith("This chat has ended.\nTo remove this conversation from Telegram")
    link = await TelegramChat.objects.aget(conversation_id=conversation_id)
    assert link.chat_id is None and link.phase == "finished"
    # Writing again starts afresh.
    await _post(telegram.message_update(CHAT, "hello again"))
    assert await Conversation.objects.filter(channel="telegram").acount() == 2
    await advisor.close()


async def test_reports_count_contacts_by_channel(setup_queues: None, telegram: FakeTelegram) -> None:
    advisor_user = await factories.staff_async()
    advisor = await advisor_on_shift(advisor_user)
    await sync_to_async(to_queue, thread_sensitive=False)(telegram, CHAT)
    taken = await advisor.ok("queue.take_next")
    await advisor.ok("conversation.end", conversation_id=taken["conversation"]["conversation_id"], outcome="other")
    web, _token, web_id = await queued_visitor()
    await advisor.ok("queue.take_next")
    await advisor.ok("conversation.end", conversation_id=web_id, outcome="other")

    def counted() -> tuple[dict[str, int], int]:
        retention.statistics_roll_up()
        today = timezone.localdate()
        series = {s.key: dict(s.rows) for s in reports.build(today, today)["series"]}
        return series["channel"], len(figures.rows_for(figures.Period(today, today), channel="telegram"))

    by_channel, on_the_figures_page = await sync_to_async(counted)()
    assert by_channel == {"Telegram": 1, "Web chat": 1}
    assert on_the_figures_page == 1
    assert ("telegram", "Telegram") in figures.channel_choices()
    await web.close()
    await advisor.close()


async def test_transfer_supervision_and_case_as_on_the_web(setup_queues: None, telegram: FakeTelegram) -> None:
    first_user = await factories.staff_async()
    second_user = await factories.staff_async()
    supervisor_user = await factories.staff_async(role="supervisor")
    first = await advisor_on_shift(first_user)
    second = await advisor_on_shift(second_user)
    supervisor = await advisor_on_shift(supervisor_user)
    await sync_to_async(to_queue, thread_sensitive=False)(telegram, CHAT)
    taken = await first.ok("queue.take_next")
    conversation_id = taken["conversation"]["conversation_id"]

    # A case and its checklist open on the chat as on a web one.
    case = await sync_to_async(risk.case_open)(user=first_user, conversation_id=conversation_id)
    assert case.pk is not None

    await supervisor.ok("supervise.monitor", conversation_id=conversation_id)
    await supervisor.ok(
        "message.send", conversation_id=conversation_id, client_msg_id="w1", text="Ask about children", kind="whisper"
    )
    await first.expect("entry", kind="whisper")
    await supervisor.ok("supervise.join", conversation_id=conversation_id)
    await supervisor.ok("message.send", conversation_id=conversation_id, client_msg_id="s1", text="Hello from Jo")

    offer = await first.ok("transfer.offer", conversation_id=conversation_id, to_user_id=second_user.pk, note="")
    await second.expect("transfer.offered")
    await second.ok("transfer.respond", transfer_id=offer["transfer_id"], accept=True)
    await second.ok("message.send", conversation_id=conversation_id, client_msg_id="b1", text="I'm taking over.")

    await _post(telegram.message_update(CHAT, "Thank you both"))
    await second.expect("entry", text="Thank you both")
    # The case's sealed transcript holds the Telegram chat as it would a web one.
    snapshot = await sync_to_async(snapshots.snapshot_make)(
        user=first_user, case_id=case.pk, conversation_id=conversation_id
    )
    exported = (await sync_to_async(snapshots.snapshot_json)(snapshot)).decode()
    assert "Thank you both" in exported and "I'm taking over." in exported

    texts = telegram.bot_texts(CHAT)
    assert "Ask about children" not in texts  # whispers stay with staff
    said = texts[texts.index(f"You are now talking to {first_user.staff.display_name}.") + 1 :]
    assert said[0] == f"A supervisor, {supervisor_user.staff.display_name}, has joined the chat."
    assert said[1] == "Hello from Jo"
    assert said[-1] == "I'm taking over."
    for socket in (first, second, supervisor):
        await socket.close()
