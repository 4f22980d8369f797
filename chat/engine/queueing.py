"""Coalesced queue broadcasts.

Every change to a queue (a visitor joins, an advisor accepts...) changes the position of everyone
behind it, so broadcasting each change costs O(queue length) messages and queries; a burst of n
arrivals would cost O(n^2). In a daphne process changes are therefore gathered for
COALESCE_SECONDS and the queue is sent once, as it then is. Elsewhere (Celery, commands) it is sent
straight away. Nothing is lost by coalescing: what is sent is always the current state.

A change of who is on shift changes only the queued visitors' estimated waits, not what the
staff see of the queue: it refreshes the visitors alone (`staff=False`). Each advisor coming on
shift used to send every queue they serve to every console serving it, empty queues included:
with 500 consoles arriving during `make bench`, two thirds of those snapshots were of empty
queues, and all of them together were more frames than the chats.
"""

import asyncio
import contextvars
import logging
import weakref
from typing import TYPE_CHECKING, Any

from autobahn.websocket.protocol import PreparedMessage
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chat import selectors
from chat.engine import events
from chat.models import Queue

if TYPE_CHECKING:
    from chat.engine.socket import ProtocolConsumer

logger = logging.getLogger(__name__)

COALESCE_SECONDS = 0.15
# A long queue, or one many consoles watch, is sent less often: someone 200th in line needs no
# update every 150 ms. Under `make bench`, sending every 150 ms to a long queue took a large
# share of the server's time, and with hundreds of consoles watching, their snapshots took much
# of the event loop while visitors arrived. The visitors' statuses and the staff's snapshot are
# gathered apart, each for what it costs (a status per queued visitor, a frame per console), so
# many consoles do not slow the visitors' updates; the wait grows with each.
COALESCE_PER_QUEUED_SECONDS = 0.003
COALESCE_PER_CONSOLE_SECONDS = 0.002
COALESCE_MAX_SECONDS = 2.0
VISITORS, STAFF = "visitors", "staff"
# (queue id, part) with a send scheduled.
_pending: set[tuple[int, str]] = set()
# Per queue: the visitors in it at its last send, and the consoles of this process watching it
# at its last snapshot.
_last_fanout: dict[int, tuple[int, int]] = {}
_tasks: set["asyncio.Task[Any]"] = set()
# The consoles of this process watching each queue group. The process, not each console, is the
# member of the layer's group: a channel of its own (one per event loop) hears each snapshot
# once, and it is written from there to every console here (`ProtocolConsumer.push_shared`).
# With 1,000 consoles in the group, each snapshot was 1,000 layer messages and as many consumer
# tasks woken, and a take or a visitor's `assigned` entry arriving meanwhile waited behind them.
_watchers: dict[str, "set[ProtocolConsumer]"] = {}
# Per event loop: the process's channel for queue groups and the task reading it.
_hearing: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[str, asyncio.Task[None]]]" = (
    weakref.WeakKeyDictionary()
)
# The layer forgets a group membership after its group expiry (a day by default): the process's
# channel joins its groups again this often, whatever happens meanwhile.
REJOIN_SECONDS = 3600.0


class SharedFrame:
    """A frame this process sends many sockets at once (a queue's snapshot to every console
    serving it): serialised once, and framed for the wire once, on first use."""

    __slots__ = ("_prepared", "key", "text")

    def __init__(self, key: str, text: str) -> None:
        self.key = key  # a later frame of the same key supersedes this one
        self.text = text
        self._prepared: PreparedMessage | None = None

    @property
    def prepared(self) -> PreparedMessage:
        if self._prepared is None:
            self._prepared = PreparedMessage(self.text.encode(), False, False, False)
        return self._prepared


def watching(group: str) -> int:
    """How many consoles of this process watch this queue group."""
    return len(_watchers.get(group, ()))


async def watch(group: str, console: "ProtocolConsumer") -> None:
    """From now on `console` is sent this queue group's snapshots (once it takes shared frames)."""
    _watchers.setdefault(group, set()).add(console)
    layer = get_channel_layer()
    assert layer is not None
    loop = asyncio.get_running_loop()
    hearing = _hearing.get(loop)
    if hearing is None or hearing[1].done():
        channel = await layer.new_channel("queues.")
        task = loop.create_task(_hear(channel), context=contextvars.Context())
        hearing = _hearing[loop] = (channel, task)
        loop.call_later(REJOIN_SECONDS, _rejoin, loop, channel)
    await layer.group_add(group, hearing[0])  # again each time: it renews the membership


def unwatch(group: str, console: "ProtocolConsumer") -> None:
    consoles = _watchers.get(group)
    if consoles is not None:
        consoles.discard(console)
        if not consoles:
            del _watchers[group]


async def _hear(channel: str) -> None:
    """Read the process's queue channel for as long as the loop runs, and write each snapshot
    to this process's consoles of its queue."""
    layer = get_channel_layer()
    assert layer is not None
    while True:
        try:
            event = await layer.receive(channel)
            if event.get("type") == "chat.queue":
                fan_out(event["group"], event["frame"])
        except Exception:
            # Redis restarting, say: what was published meanwhile is lost to every socket alike,
            # and the next change of each queue is sent again. This task must outlive it.
            logger.warning("queue channel: reading failed; trying again", exc_info=True)
            await asyncio.sleep(1.0)


def _rejoin(loop: asyncio.AbstractEventLoop, channel: str) -> None:
    """Renew the process channel's group memberships, every REJOIN_SECONDS while it is read."""
    hearing = _hearing.get(loop)
    if hearing is None or hearing[0] != channel or hearing[1].done() or loop.is_closed():
        return

    async def join() -> None:
        layer = get_channel_layer()
        assert layer is not None
        for group in list(_watchers):
            await layer.group_add(group, channel)

    task = loop.create_task(join(), context=contextvars.Context())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    loop.call_later(REJOIN_SECONDS, _rejoin, loop, channel)


def fan_out(group: str, text: str) -> None:
    """Write a queue group's snapshot to every console of this process watching it."""
    frame = SharedFrame(group, text)
    for console in list(_watchers.get(group, ())):
        console.push_shared(frame)


def refresh(queue_id: int, *, staff: bool = True) -> None:
    """Send the queue's state soon: its queued visitors' positions and waits, and, with `staff`,
    the snapshot its consoles show."""
    loop = events.process_loop.loop
    if loop is None or loop.is_closed() or not loop.is_running():
        queue_broadcast(queue_id, staff=staff)
        return
    parts = (VISITORS, STAFF) if staff else (VISITORS,)
    try:
        on_loop = asyncio.get_running_loop() is loop
    except RuntimeError:
        on_loop = False
    if on_loop:
        _schedule(loop, queue_id, parts)
    else:
        loop.call_soon_threadsafe(_schedule, loop, queue_id, parts, context=contextvars.Context())


def _schedule(loop: asyncio.AbstractEventLoop, queue_id: int, parts: tuple[str, ...]) -> None:
    for part in parts:
        if (queue_id, part) in _pending:
            continue
        _pending.add((queue_id, part))
        loop.call_later(delay(queue_id, part), _start, loop, queue_id, part, context=contextvars.Context())


def delay(queue_id: int, part: str) -> float:
    """How long changes to this queue are gathered before this part is sent, from what its last
    send cost."""
    queued, consoles = _last_fanout.get(queue_id, (0, 0))
    if part == VISITORS:
        stretched = COALESCE_SECONDS + COALESCE_PER_QUEUED_SECONDS * queued
    else:
        stretched = COALESCE_SECONDS + COALESCE_PER_CONSOLE_SECONDS * consoles
    return min(COALESCE_MAX_SECONDS, stretched)


def _start(loop: asyncio.AbstractEventLoop, queue_id: int, part: str) -> None:
    # A fresh context: this may have been scheduled from Channels' database thread, whose
    # context would make the database call below think it is nested in itself.
    task = loop.create_task(_run(queue_id, part), context=contextvars.Context())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _run(queue_id: int, part: str) -> None:
    _pending.discard((queue_id, part))
    # Read on the database thread, send from here: no async_to_sync inside the thread.
    outgoing = await database_sync_to_async(queue_broadcast_events)(
        queue_id, staff=part == STAFF, visitors=part == VISITORS
    )
    queued, consoles = _last_fanout.get(queue_id, (0, 0))
    if part == VISITORS:
        queued = len(outgoing)
    elif outgoing:  # the snapshot, to the queue's group
        consoles = watching(outgoing[0][0])
    _last_fanout[queue_id] = (queued, consoles)
    await events.send_all(outgoing)


def queue_broadcast_events(queue_id: int, *, staff: bool = True, visitors: bool = True) -> list[events.Event]:
    """The queue as it is now: the snapshot for its staff first (with `staff`), then each queued
    visitor's position (with `visitors`)."""
    outgoing: list[events.Event] = []
    if staff:
        queue = Queue.objects.filter(pk=queue_id).first()
        if queue is None:
            return []
        snapshot = selectors.fresh_queue_snapshot(queue)
        # Serialised once here, not once per console: every advisor serving the queue gets it
        # (chat.engine.queueing writes it to each process's consoles).
        group = events.queue_group(queue.slug)
        outgoing.append((group, {"type": "chat.queue", "group": group, "frame": events.frame(snapshot)}))
    if visitors:  # none for a queue that is gone
        for status in selectors.queue_positions(queue_id):
            outgoing.append(
                (events.conv_visitor_group(status["conversation_id"]), {"type": "chat.status", "status": status})
            )
    return outgoing


def queue_broadcast(queue_id: int, *, staff: bool = True) -> None:
    events.send_now(queue_broadcast_events(queue_id, staff=staff))
