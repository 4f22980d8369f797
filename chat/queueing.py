"""Coalesced queue broadcasts.

Every change to a queue (a visitor joins, an advisor accepts...) changes the position of everyone
behind it, so broadcasting each change costs O(queue length) messages and queries; a burst of n
arrivals would cost O(n^2). In a daphne process changes are therefore gathered for
COALESCE_SECONDS and the queue is sent once, as it then is. Elsewhere (Celery, commands) it is sent
straight away. Nothing is lost by coalescing: what is sent is always the current state.
"""

import asyncio
import contextvars
from typing import Any

from channels.db import database_sync_to_async

from chat import events

COALESCE_SECONDS = 0.15
# A long queue is sent less often: each send costs a status per visitor in it plus a snapshot per
# advisor, and someone 200th in line needs no update every 150 ms. Under `make bench` with 300
# arrivals in 10 s, sending every 150 ms took about a sixth of the server's time.
COALESCE_PER_QUEUED_SECONDS = 0.003
COALESCE_MAX_SECONDS = 1.0
_pending: set[int] = set()
_last_length: dict[int, int] = {}
_tasks: set["asyncio.Task[Any]"] = set()


def refresh(queue_id: int) -> None:
    from chat.services import queue_broadcast

    loop = events.process_loop.loop
    if loop is None or loop.is_closed() or not loop.is_running():
        queue_broadcast(queue_id)
        return
    try:
        on_loop = asyncio.get_running_loop() is loop
    except RuntimeError:
        on_loop = False
    if on_loop:
        _schedule(loop, queue_id)
    else:
        loop.call_soon_threadsafe(_schedule, loop, queue_id, context=contextvars.Context())


def _schedule(loop: asyncio.AbstractEventLoop, queue_id: int) -> None:
    if queue_id in _pending:
        return
    _pending.add(queue_id)
    loop.call_later(delay(queue_id), _start, loop, queue_id, context=contextvars.Context())


def delay(queue_id: int) -> float:
    """How long changes to this queue are gathered, from its length when last sent."""
    stretched = COALESCE_SECONDS + COALESCE_PER_QUEUED_SECONDS * _last_length.get(queue_id, 0)
    return min(COALESCE_MAX_SECONDS, stretched)


def _start(loop: asyncio.AbstractEventLoop, queue_id: int) -> None:
    # A fresh context: this may have been scheduled from Channels' database thread, whose
    # context would make the database call below think it is nested in itself.
    task = loop.create_task(_run(queue_id), context=contextvars.Context())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _run(queue_id: int) -> None:
    from chat.services import queue_broadcast_events

    _pending.discard(queue_id)
    # Read on the database thread, send from here: no async_to_sync inside the thread.
    outgoing = await database_sync_to_async(queue_broadcast_events)(queue_id)
    _last_length[queue_id] = max(0, len(outgoing) - 1)  # one status per queued visitor, one snapshot
    await events.send_all(outgoing)
