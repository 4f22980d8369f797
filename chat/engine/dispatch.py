"""A consumer's event loop: the frames from its socket and the events from the channel layer,
handed to its dispatch one at a time.

What Channels' `await_many_dispatch` guarantees, kept here:
- one event is dispatched at a time, in the consumer's own task, and when dispatch raises
  (StopConsumer included) nothing more is dispatched;
- each source has one receive outstanding at most, and the next starts only once its last
  event has been dispatched: a consumer that falls behind leaves its backlog in the channel
  layer, whose capacity bounds it, and in daphne's queue for the socket;
- an error raised by a source (a cancellation from inside it too) is raised to the caller;
  on the way out every reader is cancelled and waited for.

What differs: Channels calls `asyncio.wait` over its receivers after every event and starts a
new task for the receiver that finished, about forty objects for each socket's waiting state
made anew at each event (a census of the server's youngest garbage-collector generation under
`make bench`; `python -m bench.dispatch` compares the two loops). Here each source has one reader task for the life of
the socket, and an event costs the tuple that carries it and two futures. What a socket keeps while
it waits is one slotted object and its readers (no closures, no deque: 2,000 idle sockets each
hold one).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Source = Callable[[], Awaitable[Any]]


class _Arrivals:
    """Events received and not yet dispatched, each with the future its reader waits on until
    it has been; and the future the consumer waits on while there are none."""

    __slots__ = ("events", "failure", "loop", "wake")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        # A list: it holds one event a source at most.
        self.events: list[tuple[Any, asyncio.Future[None]]] = []
        self.wake: asyncio.Future[None] | None = None
        self.failure: BaseException | None = None

    def rouse(self) -> None:
        if self.wake is not None and not self.wake.done():
            self.wake.set_result(None)

    async def read(self, source: Source) -> None:
        while True:
            event = await source()
            dispatched = self.loop.create_future()
            self.events.append((event, dispatched))
            self.rouse()
            await dispatched
            del event, dispatched  # not kept while waiting for the next

    def reader_ended(self, task: "asyncio.Task[None]") -> None:
        # The readers cancelled on the way out lose this callback first, so any end seen here,
        # a cancellation from inside a source included, ends the consumer, as in Channels' loop.
        if self.failure is None:
            if task.cancelled():
                self.failure = asyncio.CancelledError()
            else:
                self.failure = task.exception() or RuntimeError("a consumer's reader stopped")
            self.rouse()


async def dispatch_events(sources: Sequence[Source], dispatch: Callable[[Any], Awaitable[None]]) -> None:
    """Dispatch events from every source until dispatch or a source raises."""
    loop = asyncio.get_running_loop()
    arrivals = _Arrivals(loop)
    readers = [loop.create_task(arrivals.read(source)) for source in sources]
    for reader in readers:
        reader.add_done_callback(arrivals.reader_ended)
    try:
        while True:
            # Waiting here, not in a method of `arrivals`: a coroutine less for each event.
            if arrivals.failure is not None:
                raise arrivals.failure
            if not arrivals.events:
                arrivals.wake = loop.create_future()
                await arrivals.wake
                arrivals.wake = None
                continue
            event, dispatched = arrivals.events.pop(0)
            await dispatch(event)
            dispatched.set_result(None)
            del event, dispatched
    finally:
        running = [reader for reader in readers if not reader.done()]
        for reader in running:
            reader.remove_done_callback(arrivals.reader_ended)
            reader.cancel()
        for reader in running:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
