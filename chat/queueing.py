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
from collections import Counter
from typing import Any

from channels.db import database_sync_to_async

from chat import events

COALESCE_SECONDS = 0.15
# A long queue, or one many consoles watch, is sent less often: someone 200th in line needs no
# update every 150 ms. Under `make bench` with 300 arrivals in 10 s, sending every 150 ms took
# about a sixth of the server's time; with 400 consoles watching, their snapshots were two
# fifths of the event loop's handling while visitors arrived. The visitors' statuses and the
# staff's snapshot are gathered apart, each for what it costs (a status per queued visitor, a
# frame per console), so many consoles do not slow the visitors' updates. With 500 consoles
# arriving over 100 s, snapshots were still 65 % of the frames the consoles received at 1 ms a
# console (49,721 against 25,813 entries, replies and typing notices).
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
# Consoles of this process in each queue group (each process sends to its own consoles).
_watchers: Counter[str] = Counter()


def watch(group: str) -> None:
    _watchers[group] += 1


def unwatch(group: str) -> None:
    _watchers[group] -= 1
    if _watchers[group] <= 0:
        del _watchers[group]


def refresh(queue_id: int, *, staff: bool = True) -> None:
    """Send the queue's state soon: its queued visitors' positions and waits, and, with `staff`,
    the snapshot its consoles show."""
    from chat.services import queue_broadcast

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
    from chat.services import queue_broadcast_events

    _pending.discard((queue_id, part))
    # Read on the database thread, send from here: no async_to_sync inside the thread.
    outgoing = await database_sync_to_async(queue_broadcast_events)(
        queue_id, staff=part == STAFF, visitors=part == VISITORS
    )
    queued, consoles = _last_fanout.get(queue_id, (0, 0))
    if part == VISITORS:
        queued = len(outgoing)
    elif outgoing:  # the snapshot, to the queue's group
        consoles = _watchers.get(outgoing[0][0], 0)
    _last_fanout[queue_id] = (queued, consoles)
    await events.send_all(outgoing)
