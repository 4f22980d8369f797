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
# A long queue, or one many consoles watch, is sent less often: each send costs a status per
# visitor in it plus a frame per console of the queue's staff, and someone 200th in line needs no
# update every 150 ms. Under `make bench` with 300 arrivals in 10 s, sending every 150 ms took
# about a sixth of the server's time; with 400 consoles watching, their snapshots were two
# fifths of the event loop's handling while visitors arrived.
COALESCE_PER_QUEUED_SECONDS = 0.003
COALESCE_PER_CONSOLE_SECONDS = 0.001
COALESCE_MAX_SECONDS = 2.0
# Queues with a send scheduled, and whether it is to include the staff's snapshot.
_pending: dict[int, bool] = {}
# Per queue: the visitors in it at the last send, and the consoles of this process then watching.
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
    try:
        on_loop = asyncio.get_running_loop() is loop
    except RuntimeError:
        on_loop = False
    if on_loop:
        _schedule(loop, queue_id, staff)
    else:
        loop.call_soon_threadsafe(_schedule, loop, queue_id, staff, context=contextvars.Context())


def _schedule(loop: asyncio.AbstractEventLoop, queue_id: int, staff: bool) -> None:
    if queue_id in _pending:
        _pending[queue_id] = _pending[queue_id] or staff
        return
    _pending[queue_id] = staff
    loop.call_later(delay(queue_id), _start, loop, queue_id, context=contextvars.Context())


def delay(queue_id: int) -> float:
    """How long changes to this queue are gathered, from what its last send cost."""
    queued, consoles = _last_fanout.get(queue_id, (0, 0))
    stretched = COALESCE_SECONDS + COALESCE_PER_QUEUED_SECONDS * queued + COALESCE_PER_CONSOLE_SECONDS * consoles
    return min(COALESCE_MAX_SECONDS, stretched)


def _start(loop: asyncio.AbstractEventLoop, queue_id: int) -> None:
    # A fresh context: this may have been scheduled from Channels' database thread, whose
    # context would make the database call below think it is nested in itself.
    task = loop.create_task(_run(queue_id), context=contextvars.Context())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _run(queue_id: int) -> None:
    from chat.services import queue_broadcast_events

    staff = _pending.pop(queue_id, True)
    # Read on the database thread, send from here: no async_to_sync inside the thread.
    snapshot, statuses = await database_sync_to_async(queue_broadcast_events)(queue_id, staff=staff)
    if snapshot is not None:
        _last_fanout[queue_id] = (len(statuses), _watchers.get(snapshot[0], 0))
    await events.send_all([snapshot, *statuses] if snapshot is not None else statuses)
