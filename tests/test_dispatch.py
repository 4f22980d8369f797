"""The consumers' event loop (chat/engine/dispatch.py) keeps Channels' guarantees: one event dispatched at
a time, one receive outstanding per source, errors raised to the caller, readers cancelled on
the way out. Each case runs on a loop of its own (tests/support/loops.py)."""

import asyncio
from typing import Any

import pytest
from channels.exceptions import StopConsumer

from chat.engine.dispatch import dispatch_events
from tests.support.loops import runs_on_own_loop


class Source:
    """A receiver fed by the test, counting its calls and how they ended."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.calls = 0
        self.cancelled = 0

    async def __call__(self) -> Any:
        self.calls += 1
        try:
            item = await self.queue.get()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if isinstance(item, BaseException):
            raise item
        return item


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@runs_on_own_loop
async def test_events_are_dispatched_one_at_a_time_in_order() -> None:
    socket, layer = Source("socket"), Source("layer")
    seen: list[str] = []
    running = 0

    async def dispatch(event: str) -> None:
        nonlocal running
        running += 1
        assert running == 1
        await asyncio.sleep(0.001)
        seen.append(event)
        running -= 1
        if event == "stop":
            raise StopConsumer

    for n in range(5):
        socket.queue.put_nowait(f"frame {n}")
        layer.queue.put_nowait(f"event {n}")
    layer.queue.put_nowait("stop")
    with pytest.raises(StopConsumer):
        await asyncio.wait_for(dispatch_events([socket, layer], dispatch), 5)

    assert [e for e in seen if e.startswith("frame")] == [f"frame {n}" for n in range(5)]
    assert [e for e in seen if e.startswith("event")] == [f"event {n}" for n in range(5)]
    assert seen[-1] == "stop"


@runs_on_own_loop
async def test_a_source_is_not_read_again_until_its_event_is_dispatched() -> None:
    socket, layer = Source("socket"), Source("layer")
    release = asyncio.Event()
    seen: list[str] = []

    async def dispatch(event: str) -> None:
        seen.append(event)
        if event == "slow":
            await release.wait()
        if event == "stop":
            raise StopConsumer

    for item in ("slow", "queued 1", "queued 2"):
        layer.queue.put_nowait(item)
    loop_task = asyncio.create_task(dispatch_events([socket, layer], dispatch))
    await settle()
    socket.queue.put_nowait("frame")
    await settle()

    # The layer's first event is being dispatched: its reader has not asked for another, so
    # the rest stay in the layer. The socket's frame has been received and waits its turn.
    assert seen == ["slow"]
    assert layer.calls == 1
    assert layer.queue.qsize() == 2
    assert socket.calls == 1
    assert socket.queue.qsize() == 0

    release.set()
    await settle()
    assert seen == ["slow", "frame", "queued 1", "queued 2"]
    socket.queue.put_nowait("stop")
    with pytest.raises(StopConsumer):
        await asyncio.wait_for(loop_task, 5)


@runs_on_own_loop
async def test_nothing_is_dispatched_after_dispatch_raises_and_readers_are_cancelled() -> None:
    socket, layer = Source("socket"), Source("layer")
    seen: list[str] = []

    async def dispatch(event: str) -> None:
        seen.append(event)
        if event == "bye":
            raise StopConsumer

    socket.queue.put_nowait("bye")
    loop_task = asyncio.create_task(dispatch_events([socket, layer], dispatch))
    await settle()
    layer.queue.put_nowait("too late")
    with pytest.raises(StopConsumer):
        await asyncio.wait_for(loop_task, 5)

    assert seen == ["bye"]
    assert layer.cancelled == 1
    assert layer.queue.qsize() == 1
    assert socket.calls == 1


@runs_on_own_loop
async def test_an_error_from_a_source_reaches_the_caller() -> None:
    socket, layer = Source("socket"), Source("layer")
    seen: list[str] = []

    async def dispatch(event: str) -> None:
        seen.append(event)

    socket.queue.put_nowait("frame")
    layer.queue.put_nowait(ConnectionError("layer gone"))
    with pytest.raises(ConnectionError, match="layer gone"):
        await asyncio.wait_for(dispatch_events([socket, layer], dispatch), 5)
    assert socket.cancelled == 1


@runs_on_own_loop
async def test_a_source_cancelled_from_inside_ends_the_loop() -> None:
    socket, layer = Source("socket"), Source("layer")

    async def dispatch(event: str) -> None:
        pass

    layer.queue.put_nowait(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(dispatch_events([socket, layer], dispatch), 5)
    assert socket.cancelled == 1


@runs_on_own_loop
async def test_cancelling_the_loop_cancels_its_readers() -> None:
    socket, layer = Source("socket"), Source("layer")
    started = asyncio.Event()

    async def dispatch(event: str) -> None:
        started.set()
        await asyncio.sleep(60)

    socket.queue.put_nowait("frame")
    loop_task = asyncio.create_task(dispatch_events([socket, layer], dispatch))
    await asyncio.wait_for(started.wait(), 5)
    loop_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop_task
    assert layer.cancelled == 1
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in tasks if "read" in repr(t.get_coro())]
