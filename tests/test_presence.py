"""Disconnects, grace periods, replay on reconnect and gap repair."""

from uuid import UUID

import pytest

from chat.engine import events
from chat.models import Conversation
from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor, staff_socket, visitor_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_visitor_comes_back_within_grace_and_misses_nothing(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, token, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    last = (await visitor.expect("entry", event="assigned"))["seq"]
    await visitor.close()

    await advisor.expect("entry", event="visitor_disconnected")
    await advisor.expect("conversation", state="waiting_visitor")
    for n in range(3):
        await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id=f"a{n}", text=f"while away {n}")

    again = await visitor_socket().connect()
    hello = await again.ok("hello", token=token, last_seq=last)
    assert hello["conversation_id"] == conversation_id
    assert "token" not in hello  # a token is only ever given out once
    missed = await again.entries(3)
    assert [m["text"] for m in missed] == ["while away 0", "while away 1", "while away 2"]
    assert [m["seq"] for m in missed] == [last + 1, last + 2, last + 3]
    await advisor.expect("entry", event="visitor_returned")
    await advisor.expect("conversation", state="active")
    await again.ok("message.send", client_msg_id="v1", text="back again")
    await advisor.expect("entry", text="back again")
    await again.close()
    await advisor.close()


async def test_visitor_gone_past_grace_closes_the_chat(setup_queues: None, settings) -> None:
    settings.CHAT = {**settings.CHAT, "VISITOR_GRACE_SECONDS": 0.2}
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, token, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.close()
    closed = await advisor.expect("entry", event="closed", timeout=5)
    assert closed["data"]["reason"] == "visitor_left"
    assert (await Conversation.objects.aget(pk=conversation_id)).state == "closed"
    # The session is still valid, but the conversation is over.
    again = await visitor_socket().connect()
    assert (await again.ok("hello", token=token))["conversation_id"] is None
    await again.close()
    await advisor.close()


async def test_queued_visitor_gone_past_grace_leaves_the_queue(setup_queues: None, settings) -> None:
    settings.CHAT = {**settings.CHAT, "VISITOR_GRACE_SECONDS": 0.2}
    advisor = await advisor_on_shift(await factories.staff_async())
    first, _, first_id = await queued_visitor()
    second, _, _ = await queued_visitor()
    await second.expect("status", state="queued", position=2)
    await first.close()
    await second.expect("status", state="queued", position=1, timeout=5)
    assert (await Conversation.objects.aget(pk=first_id)).close_reason == "visitor_left"
    await second.close()
    await advisor.close()


async def test_advisor_reconnects_within_grace_and_keeps_chats(setup_queues: None) -> None:
    user = await factories.staff_async()
    advisor = await advisor_on_shift(user)
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    seen = (await advisor.expect("entry", event="assigned"))["seq"]
    await advisor.close()
    await visitor.ok("message.send", client_msg_id="v1", text="are you there?")

    back = await (await staff_socket(user)).connect()
    hello = await back.ok("hello", last_seq={conversation_id: seen})
    assert hello["state"]["load"] == 1
    summary = await back.expect("conversation", conversation_id=conversation_id)
    assert summary["role"] == "holder" and summary["state"] == "active"
    missed = await back.expect("entry", seq=seen + 1)
    assert missed["text"] == "are you there?"
    await back.ok("message.send", conversation_id=conversation_id, client_msg_id="a1", text="yes")
    await visitor.expect("entry", text="yes")
    await back.close()
    await visitor.close()


async def test_advisor_gone_past_grace_returns_chats_to_head_of_queue(setup_queues: None, settings) -> None:
    settings.CHAT = {**settings.CHAT, "ADVISOR_GRACE_SECONDS": 0.2}
    user, other_user = await factories.staff_async(), await factories.staff_async()
    advisor = await advisor_on_shift(user)
    waiting, _, waiting_id = await queued_visitor()
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await waiting.expect("status", state="queued", position=1)

    await advisor.close()
    told = await visitor.expect("entry", event="requeued", timeout=5)
    assert "first in line" in told["text"]
    await visitor.expect("status", state="queued", position=1)
    await waiting.expect("status", state="queued", position=2)

    other = await advisor_on_shift(other_user)
    taken = await other.ok("queue.take_next")
    assert taken["conversation"]["conversation_id"] == conversation_id
    # The dropped advisor is no longer counted as available.
    back = await (await staff_socket(user)).connect()
    hello = await back.ok("hello")
    assert hello["state"]["availability"] == "away" and hello["state"]["load"] == 0
    for client in (other, back, visitor, waiting):
        await client.close()
    assert waiting_id


async def test_a_lost_broadcast_is_repaired_from_the_database(setup_queues: None, monkeypatch) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.expect("entry", event="assigned")

    real_send_now = events.send_now
    dropped: list[str] = []

    def lossy(batch):
        kept = []
        for group, message in batch:
            if message.get("type") == "chat.entry" and message["entry"]["text"] == "lost in the layer":
                dropped.append(group)
            else:
                kept.append((group, message))
        real_send_now(kept)

    monkeypatch.setattr(events, "send_now", lossy)
    await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id="a1", text="lost in the layer")
    await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id="a2", text="arrives")
    assert dropped
    # The visitor's socket sees the gap and replays it, in order.
    first = await visitor.expect("entry", text="lost in the layer")
    second = await visitor.expect("entry", text="arrives")
    assert second["seq"] == first["seq"] + 1
    await visitor.close()
    await advisor.close()


async def test_explicit_sync_replays_after_the_given_seq(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    for n in range(3):
        await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id=f"a{n}", text=f"m{n}")
    await visitor.expect("entry", text="m2")
    visitor.inbox.clear()
    await visitor.ok("sync", last_seq=1)
    again = await visitor.entries(5)
    assert [e["seq"] for e in again] == [2, 3, 4, 5, 6]
    await advisor.expect("entry", text="m2")
    advisor.inbox.clear()
    await advisor.ok("sync", conversation_id=conversation_id, last_seq=4)
    replayed = await advisor.entries(2)
    assert [(e["seq"], e["text"]) for e in replayed] == [(5, "m1"), (6, "m2")]
    await visitor.close()
    await advisor.close()


def test_visitors_of_a_dead_process_are_noticed(db: None) -> None:
    """A SIGKILLed process never runs its disconnect handlers; its heartbeat stops instead."""
    import time

    from django.core.cache import cache

    from chat.engine import presence
    from chat.services.sweeps import grace_sweep
    from chat.services.visitor import conversation_start, triage_submit, visitor_connect, visitor_create

    factories.queues()
    answers = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself"}
    on_dead: list[UUID] = []
    on_live: list[UUID] = []
    for conn_id, bucket in (("deadbeef0000:aa", on_dead), ("a11ce0000000:bb", on_live)):
        visitor, _ = visitor_create()
        conversation_start(visitor_id=visitor.pk, conn_id=conn_id)
        bucket.append(triage_submit(visitor_id=visitor.pk, answers=answers).pk)
    cache.set("chat:process:a11ce0000000", time.time())

    grace_sweep()  # first look: the silent process is only suspected
    assert Conversation.objects.get(pk=on_dead[0]).visitor_away_since is None
    cache.set("chat:process-missing:deadbeef0000", time.time() - presence.HEARTBEAT_SECONDS * 2)
    grace_sweep()
    dead = Conversation.objects.get(pk=on_dead[0])
    assert dead.visitor_away_since is not None and dead.state == "queued"
    assert Conversation.objects.get(pk=on_live[0]).visitor_away_since is None
    # From here the ordinary grace period runs; coming back clears it.
    visitor_connect(visitor_id=dead.visitor_id, conn_id=presence.connection_id())
    assert Conversation.objects.get(pk=on_dead[0]).visitor_away_since is None


def test_silent_chats_are_closed_but_queued_ones_wait(db: None) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import Message
    from chat.services.sweeps import idle_close
    from chat.services.visitor import conversation_start, triage_submit, visitor_create

    factories.queues()
    answers = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself"}
    visitors = [visitor_create()[0] for _ in range(3)]
    in_triage = conversation_start(visitor_id=visitors[0].pk, conn_id="a")
    conversation_start(visitor_id=visitors[1].pk, conn_id="b")
    queued = triage_submit(visitor_id=visitors[1].pk, answers=answers)
    conversation_start(visitor_id=visitors[2].pk, conn_id="c")
    fresh = triage_submit(visitor_id=visitors[2].pk, answers=answers)
    long_ago = timezone.now() - timedelta(hours=3)
    Message.objects.filter(conversation__in=[in_triage, queued]).update(created_at=long_ago)

    assert idle_close() == 1
    assert Conversation.objects.get(pk=in_triage.pk).close_reason == "idle"
    assert Conversation.objects.get(pk=queued.pk).state == "queued"
    assert Conversation.objects.get(pk=fresh.pk).state == "queued"
    assert idle_close() == 0
