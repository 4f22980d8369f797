"""Persist before broadcast, broadcast only after commit, and per-conversation locking."""

import asyncio
import threading
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction

from chat.engine import events
from chat.models import Conversation, Message
from chat.services.message import message_send_visitor
from chat.services.visitor import conversation_start, triage_submit, visitor_create
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

ANSWERS = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself"}


def queued_conversation() -> Conversation:
    visitor, _ = visitor_create()
    conversation_start(visitor_id=visitor.pk, conn_id="test")
    return triage_submit(visitor_id=visitor.pk, answers=ANSWERS)


class Listener:
    """A test channel in a group. Receives run in one long-lived task: the Redis pub/sub layer
    unsubscribes a channel whose receive() is cancelled, so a timeout must not cancel it."""

    def __init__(self, layer: Any, channel: str) -> None:
        self.layer = layer
        self.channel = channel
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._pump())

    @classmethod
    async def on(cls, group: str) -> "Listener":
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        return cls(layer, channel)

    async def _pump(self) -> None:
        while True:
            self.queue.put_nowait(await self.layer.receive(self.channel))

    async def received(self, wait: float = 0.3) -> list[dict[str, Any]]:
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(self.queue.get(), wait))
            except TimeoutError:
                return messages


async def test_nothing_is_broadcast_before_commit_or_after_rollback() -> None:
    conversation = await sync_to_async(lambda: (factories.queues(), queued_conversation())[1])()
    listener = await Listener.on(events.conv_staff_group(conversation.pk))

    class Abort(Exception):
        pass

    def send_then_roll_back() -> None:
        with pytest.raises(Abort), transaction.atomic():
            message_send_visitor(visitor_id=conversation.visitor_id, client_msg_id="x1", text="rolled back")
            assert async_to_sync(listener.received)(0.1) == []  # stored, not committed: nothing sent
            raise Abort

    await sync_to_async(send_then_roll_back)()
    assert await listener.received() == []
    assert not await Message.objects.filter(client_msg_id="x1").aexists()

    def send_and_commit() -> int:
        with transaction.atomic():
            sent = message_send_visitor(visitor_id=conversation.visitor_id, client_msg_id="x2", text="kept")
            assert async_to_sync(listener.received)(0.1) == []
        return sent.message.seq

    seq = await sync_to_async(send_and_commit)()
    entries = [m for m in await listener.received() if m["type"] == "chat.entry"]
    assert [e["entry"]["seq"] for e in entries] == [seq]
    # What was broadcast is what was stored.
    assert (await Message.objects.aget(client_msg_id="x2")).seq == seq
    listener.task.cancel()


@pytest.mark.scaled
def test_a_locked_conversation_does_not_hold_up_another() -> None:
    """Sequence numbers come from each conversation's own row lock (PostgreSQL)."""
    factories.queues()
    busy, free = queued_conversation(), queued_conversation()
    locked = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    timings: dict[str, float] = {}

    def send(conversation: Conversation, key: str) -> None:
        try:
            start = time.monotonic()
            message_send_visitor(visitor_id=conversation.visitor_id, client_msg_id=key, text=key)
            timings[key] = time.monotonic() - start
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(5)
    to_busy = threading.Thread(target=send, args=(busy, "busy"))
    to_free = threading.Thread(target=send, args=(free, "free"))
    to_busy.start()
    to_free.start()
    to_free.join(5)
    assert "free" in timings, "a write to another conversation waited for the lock"
    assert "busy" not in timings, "the locked conversation was written to while locked"
    release.set()
    to_busy.join(5)
    holder.join(5)
    assert "busy" in timings
    assert Message.objects.get(conversation=busy, client_msg_id="busy").seq == busy.last_seq + 1
