"""Channel-layer events, sent only after the transaction that caused them commits.

Group names:
  conv.<hex>.visitor  the visitor's socket(s) of one conversation
  conv.<hex>.staff    staff sockets in one conversation (holder, monitors, participants)
  staff.<user id>     every console socket of one staff member (agents.services.staff_group)
  queue.<slug>        each process's queue channel, which writes to its consoles serving the
                      queue (chat.engine.queueing)
  supervisors         every supervisor console

Layer messages carry plain dicts (JSON-safe), never model instances. The channel layer is
at-most-once; consumers detect gaps from sequence numbers and replay from the database.

Sockets call services through `database_call`: what the call broadcasts is gathered while it
runs on Channels' database thread and sent from the event loop once it returns, before the
socket replies. Chat messages go through `batched_database_call`, which hands the calls
waiting at the same moment to that thread together. The database thread never waits for the
event loop (each `async_to_sync` from it did, and meanwhile no other socket's database work
could run), and broadcasts leave the process in the order their calls finished. Elsewhere
(Celery, commands, the admin) they are sent at once.
"""

import asyncio
import contextvars
import functools
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]


@functools.cache
def layer_down() -> tuple[type[Exception], ...]:
    """What the channel layer raises when its server is down or restarting. The redis client (6
    MB of a process's memory) is imported only by a process whose layer uses it."""
    backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    if "redis" not in backend.lower():
        return (OSError,)
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (OSError, RedisConnectionError, RedisTimeoutError)


def frame(payload: dict[str, Any]) -> str:
    """A websocket frame's text, as every socket sends it."""
    return json.dumps(payload, separators=(",", ":"))


def conv_visitor_group(conversation_id: UUID | str) -> str:
    return f"conv.{UUID(str(conversation_id)).hex}.visitor"


def conv_staff_group(conversation_id: UUID | str) -> str:
    return f"conv.{UUID(str(conversation_id)).hex}.staff"


def queue_group(slug: str) -> str:
    return f"queue.{slug}"


SUPERVISORS_GROUP = "supervisors"


async def send_all(events: list[Event]) -> None:
    layer = get_channel_layer()
    assert layer is not None
    for group, message in events:
        await layer.group_send(group, message)


class _ProcessLoop:
    """Remembers the event loop of this daphne process, so that work started on Channels'
    database thread (chat.engine.queueing) can schedule follow-up work on it."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    def attach(self) -> None:
        self.loop = asyncio.get_running_loop()


process_loop = _ProcessLoop()


P = ParamSpec("P")
R = TypeVar("R")
# Set while a socket's database call runs: its broadcasts wait here to be sent from the loop.
_outbox: contextvars.ContextVar[list[Event] | None] = contextvars.ContextVar("chat_outbox", default=None)
_send_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


def database_call(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`database_sync_to_async(function)`, with the broadcasts it makes sent from the event loop
    when it returns (or raises after committing something).

    The function runs in a context of its own: asgiref copies whatever context variables a call
    sets back into the caller's, so each socket's task kept the outbox's and the translation
    machinery's leftovers (a language activated by a service stays in the socket's context)
    for as long as it lived, about 300 bytes a socket."""

    def in_context(outbox: list[Event], args: Any, kwargs: Any) -> R:
        def body() -> R:
            _outbox.set(outbox)
            return function(*args, **kwargs)

        return contextvars.copy_context().run(body)

    call = database_sync_to_async(in_context)

    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        outbox: list[Event] = []
        try:
            return await call(outbox, args, kwargs)
        finally:
            if outbox:
                await _send_in_order(outbox)

    return run


# At most this many calls go to the database thread in one hand-over.
BATCH_LIMIT = 32


class _Batches:
    """The batched calls of one event loop waiting for the database thread, and whether one of
    them is there already."""

    __slots__ = ("busy", "waiting")

    def __init__(self) -> None:
        self.waiting: list[tuple[contextvars.Context, Callable[..., Any], Any, Any, asyncio.Future[Any]]] = []
        self.busy = False


_batches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batches]" = weakref.WeakKeyDictionary()
_drainers: set[asyncio.Task[None]] = set()
# The batched form of each function, made on its first call: a socket names the service at the
# call site (`await batched_database_call(message_send_visitor)(...)`) at the cost of a lookup.
_batched: dict[Callable[..., Any], Callable[..., Awaitable[Any]]] = {}


def batched_database_call(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """As `database_call`, for a call every socket makes often (a chat message): while one such
    call is on the database thread, those made meanwhile wait, then go to it together, in one
    hand-over, and run there one after the other, each in its own transaction and context, in
    the order they were made. Their broadcasts leave together, in that order, before any of
    their callers resumes.

    A hand-over costs about what writing a message does (`python -m bench.message_write`
    measures both, alone and batched). A call made alone goes as `database_call` would, at no extra cost; the busier
    the process, the more calls share a hand-over. A caller cancelled meanwhile does not stop
    its call (as with `database_call`, which waits for the thread)."""
    made = _batched.get(function)
    if made is None:
        made = _batched[function] = _batched_call(function)
    return made


def _batched_call(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    alone = database_call(function)

    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        batches = _batches.get(loop)
        if batches is None:
            batches = _batches[loop] = _Batches()
        if batches.busy:
            future: asyncio.Future[R] = loop.create_future()
            batches.waiting.append((contextvars.copy_context(), function, args, kwargs, future))
            return await future
        batches.busy = True
        try:
            return await alone(*args, **kwargs)
        finally:
            if batches.waiting:
                task = loop.create_task(_drain(batches))
                _drainers.add(task)
                task.add_done_callback(_drainers.discard)
            else:
                batches.busy = False

    return run


def _run_batch(calls: list[tuple[contextvars.Context, Callable[..., Any], Any, Any]]) -> list[tuple[Any, Any]]:
    """On the database thread: each call in its own context, their broadcasts gathered in one
    outbox in order; (result, None) or (None, exception) for each call, then (outbox, None)."""
    from django.db import close_old_connections

    outcomes: list[tuple[Any, Any]] = []
    outbox: list[Event] = []
    for context, function, args, kwargs in calls:

        def body(function: Callable[..., Any] = function, args: Any = args, kwargs: Any = kwargs) -> Any:
            _outbox.set(outbox)
            return function(*args, **kwargs)

        try:
            outcomes.append((context.run(body), None))
        except Exception as error:  # for its own caller only
            outcomes.append((None, error))
            close_old_connections()  # a broken connection is not left to the next call
    outcomes.append((outbox, None))
    return outcomes


async def _drain(batches: _Batches) -> None:
    run_batch = database_sync_to_async(_run_batch)
    try:
        while batches.waiting:
            batch, batches.waiting = batches.waiting[:BATCH_LIMIT], batches.waiting[BATCH_LIMIT:]
            try:
                *outcomes, (outbox, _) = await run_batch([call[:4] for call in batch])
            except BaseException as error:
                # The hand-over itself failed: no caller is left waiting, and each hears why.
                for *_, future in batch + batches.waiting:
                    if not future.done():
                        future.set_exception(error if isinstance(error, Exception) else RuntimeError("closing"))
                batches.waiting = []
                if not isinstance(error, Exception):
                    raise  # cancelled: the loop is closing
                return
            try:
                if outbox:
                    await _send_in_order(outbox)
            finally:  # the calls are committed: each caller hears how its own went
                for (*_, future), (result, failure) in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller was cancelled
                        continue
                    if failure is not None:
                        future.set_exception(failure)
                    else:
                        future.set_result(result)
    finally:
        batches.busy = False


async def _send_in_order(batch: list[Event]) -> None:
    # Calls finish one at a time on the database thread and resume here in that order; the lock
    # keeps their broadcasts in that order across a layer that yields (Redis).
    loop = asyncio.get_running_loop()
    lock = _send_locks.get(loop)
    if lock is None:
        lock = _send_locks[loop] = asyncio.Lock()
    async with lock:
        try:
            await send_all(batch)
        except layer_down():
            logger.warning("channel layer unreachable; %d events not broadcast", len(batch), exc_info=True)


def send_now(events: Iterable[Event]) -> None:
    batch = list(events)
    if not batch:
        return
    outbox = _outbox.get()
    if outbox is not None:
        outbox.extend(batch)
        return
    try:
        async_to_sync(send_all)(batch)
    except layer_down():
        # What caused these events is committed, and the layer is at-most-once anyway: every
        # socket catches up from the database by seq. Raising here told the sender "not sent"
        # for a message that was stored (a retyped copy would then be a duplicate) and skipped
        # the transaction's other on-commit work (found by `make chaos`, Redis restarted).
        logger.warning("channel layer unreachable; %d events not broadcast", len(batch), exc_info=True)


def emit_on_commit(events: Iterable[Event]) -> None:
    """Queue layer messages to go out, in order, once the current transaction commits."""
    batch = list(events)
    if batch:
        transaction.on_commit(lambda: send_now(batch))
