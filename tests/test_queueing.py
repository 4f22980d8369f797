"""Coalesced queue broadcasts: a long queue, or one many consoles watch, is gathered for longer,
up to two seconds."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

from chat.engine import events, queueing
from chat.engine.socket import ProtocolConsumer, SharedFrame
from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor


def test_a_long_or_much_watched_queue_is_sent_less_often() -> None:
    visitors, staff = queueing.VISITORS, queueing.STAFF
    queueing._last_fanout.pop(999_001, None)
    assert queueing.delay(999_001, visitors) == queueing.delay(999_001, staff) == pytest.approx(0.15)
    queueing._last_fanout[999_001] = (100, 0)
    assert queueing.delay(999_001, visitors) == pytest.approx(0.45)
    assert queueing.delay(999_001, staff) == pytest.approx(0.15)
    # Many consoles slow the staff's snapshot, not the visitors' positions.
    queueing._last_fanout[999_001] = (100, 400)
    assert queueing.delay(999_001, visitors) == pytest.approx(0.45)
    assert queueing.delay(999_001, staff) == pytest.approx(0.95)
    queueing._last_fanout[999_001] = (5000, 5000)
    assert queueing.delay(999_001, visitors) == queueing.delay(999_001, staff) == pytest.approx(2.0)
    queueing._last_fanout.pop(999_001)


@pytest.mark.django_db(transaction=True)
async def test_the_consoles_watching_a_queue_are_counted_while_connected() -> None:
    queues = await sync_to_async(factories.queues)()
    general = events.queue_group("general")
    layer = get_channel_layer()
    before = queueing.watching(general)
    advisors = [await advisor_on_shift(await sync_to_async(factories.staff)()) for _ in range(3)]
    assert queueing.watching(general) == before + 3
    # The process's own channel is the one member of the layer's group, however many consoles
    # watch here: a snapshot is one layer message, written from there to each of them.
    if isinstance(layer, InMemoryChannelLayer):  # (Redis keeps its groups to itself)
        assert layer.groups[general]
        assert all(channel.startswith("queues.") for channel in layer.groups[general])
    visitor, _, _ = await queued_visitor()
    await advisors[0].expect("queue", length=1)
    assert queueing._last_fanout[queues["general"].pk][1] == before + 3
    for advisor in advisors:
        await advisor.close()
    await visitor.close()
    assert queueing.watching(general) == before


@pytest.mark.django_db(transaction=True)
async def test_an_advisor_coming_on_shift_refreshes_the_waits_not_the_consoles_queue() -> None:
    await sync_to_async(factories.queues)()
    first = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, _, conversation_id = await queued_visitor()
    await first.expect("queue", queue="general", length=1)
    before = await visitor.expect("status", state="queued", position=1)
    await visitor.drain(queueing.COALESCE_MAX_SECONDS)  # the queue's own broadcast, then quiet
    first.inbox.clear()
    visitor.inbox.clear()

    # A second advisor doubles the chats that can be held at once: the queued visitor's wait
    # halves; what the first console shows of the queue has not changed and is not sent again.
    second = await advisor_on_shift(await sync_to_async(factories.staff)())
    after = await visitor.expect("status", state="queued", position=1)
    assert after["estimated_wait_seconds"] < before["estimated_wait_seconds"]
    await first.drain(queueing.COALESCE_MAX_SECONDS)
    assert not [m for m in first.inbox if m.get("type") == "queue"]

    # A change of the queue itself still reaches every console serving it.
    await second.ok("queue.take_next")
    assert (await first.expect("queue", queue="general"))["length"] == 0
    for socket in (first, second, visitor):
        await socket.close()
    assert conversation_id


def test_changes_gathered_are_sent_once_each_part() -> None:
    calls: list[tuple[float, tuple[object, ...]]] = []

    class Loop:
        def call_later(self, delay: float, *args: object, **kwargs: object) -> None:
            calls.append((delay, args))

    loop = Loop()
    visitors, staff = queueing.VISITORS, queueing.STAFF
    queueing._pending.difference_update({(999_002, visitors), (999_002, staff)})
    queueing._schedule(loop, 999_002, (visitors,))  # type: ignore[arg-type]
    queueing._schedule(loop, 999_002, (visitors, staff))  # type: ignore[arg-type]
    queueing._schedule(loop, 999_002, (visitors,))  # type: ignore[arg-type]
    queueing._schedule(loop, 999_002, (visitors, staff))  # type: ignore[arg-type]
    assert [args[-1] for _, args in calls] == [visitors, staff]  # one send of each for four changes
    queueing._pending.difference_update({(999_002, visitors), (999_002, staff)})


class Recorder(ProtocolConsumer):
    """A socket without a server under it: what it sends is kept."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.daphne_protocol = self.twisted_transport = None

        async def base_send(message: dict[str, str]) -> None:
            self.frames.append(message["text"])

        self.base_send = base_send


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def on_own_loop(coroutine: Any) -> Any:
    """On a loop of its own in a thread of its own, as tests/test_layers.py does: plain asyncio,
    kept apart from whatever event loop earlier tests of the run leave behind."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _shared_frames_in_order() -> None:
    console = Recorder()
    console.push_shared(SharedFrame("queue.general", "general 1"))
    console.push_shared(SharedFrame("queue.children", "children 1"))
    console.push_shared(SharedFrame("queue.general", "general 2"))
    await settle()
    assert console.frames == []  # not live yet: its hello snapshots go first
    await console.send_frame("hello snapshot")
    console.take_shared()
    await settle()
    # The older general snapshot is superseded; the newer one follows the children's.
    assert console.frames == ["hello snapshot", "children 1", "general 2"]
    console.push_shared(SharedFrame("queue.general", "general 3"))
    await settle()
    assert console.frames[-1] == "general 3"
    assert console.shared_backlog is None and console.shared_task is None


def test_shared_frames_wait_until_the_socket_takes_them_and_only_the_latest_of_each_goes() -> None:
    on_own_loop(_shared_frames_in_order())


async def _closed_socket() -> None:
    console = Recorder()
    console.take_shared()
    console.drop_shared()
    console.closing = True
    console.push_shared(SharedFrame("queue.general", "general 1"))
    await settle()
    assert console.frames == []


def test_a_closed_socket_takes_no_shared_frame() -> None:
    on_own_loop(_closed_socket())
