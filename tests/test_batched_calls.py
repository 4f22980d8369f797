"""`events.batched_database_call`: the chat messages a process's sockets send while one is on
Channels' database thread go there together, in one hand-over, and each caller still gets its
own answer, its own context and its broadcasts before it resumes. A call made alone goes as
`database_call` would (the spy below counts only shared hand-overs)."""

import asyncio
import contextvars
import threading
import time
from typing import Any

import pytest
from channels.layers import get_channel_layer

from chat.engine import events
from chat.errors import ProtocolError

# Channels' database thread closes stale connections around each hand-over.
pytestmark = pytest.mark.django_db(transaction=True)

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


@pytest.fixture
def hand_overs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each shared hand-over to the database thread."""
    sizes: list[int] = []
    run_batch = events._run_batch

    def counted(calls: list[Any]) -> list[Any]:
        sizes.append(len(calls))
        return run_batch(calls)

    monkeypatch.setattr(events, "_run_batch", counted)
    return sizes


def echo(value: int) -> tuple[int, str, str]:
    return value, marker.get(), threading.current_thread().name


async def test_calls_made_meanwhile_share_one_hand_over_and_get_their_own_results(hand_overs: list[int]) -> None:
    call = events.batched_database_call(echo)
    results = await asyncio.gather(*(call(n) for n in range(20)))
    assert [value for value, _, _ in results] == list(range(20))
    assert hand_overs == [19]  # the first went alone; the others came while it was there
    # On Channels' database thread, not on the event loop's.
    assert {thread for _, _, thread in results} != {threading.current_thread().name}
    assert len({thread for _, _, thread in results}) == 1


async def test_a_call_alone_is_handed_over_at_once(hand_overs: list[int]) -> None:
    call = events.batched_database_call(echo)
    assert (await call(7))[0] == 7
    assert (await call(8))[0] == 8
    assert hand_overs == []


async def test_no_more_than_the_limit_go_in_one_hand_over(hand_overs: list[int]) -> None:
    call = events.batched_database_call(echo)
    results = await asyncio.gather(*(call(n) for n in range(events.BATCH_LIMIT + 6)))
    assert [value for value, _, _ in results] == list(range(events.BATCH_LIMIT + 6))
    assert hand_overs == [events.BATCH_LIMIT, 5]


def refuse_odd(value: int) -> int:
    if value % 2:
        raise ProtocolError("invalid", f"{value} is odd")
    return value


async def test_an_error_reaches_its_own_caller_only(hand_overs: list[int]) -> None:
    call = events.batched_database_call(refuse_odd)
    results = await asyncio.gather(*(call(n) for n in range(6)), return_exceptions=True)
    assert results[0::2] == [0, 2, 4]
    assert [str(error.message) for error in results[1::2]] == ["1 is odd", "3 is odd", "5 is odd"]  # type: ignore[union-attr]
    assert hand_overs == [5]


def broadcast(value: int) -> int:
    events.send_now([("batch.test", {"type": "test.event", "value": value})])
    return value


async def test_broadcasts_leave_in_call_order_before_any_caller_resumes(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    await layer.group_add("batch.test", channel)
    happened: list[str] = []
    send_all = events.send_all

    async def recorded(batch: list[events.Event]) -> None:
        await send_all(batch)
        happened.append("sent " + " ".join(str(message["value"]) for _, message in batch))

    monkeypatch.setattr(events, "send_all", recorded)
    call = events.batched_database_call(broadcast)

    async def one(value: int) -> None:
        await call(value)
        happened.append(f"resumed {value}")

    await asyncio.gather(*(one(n) for n in range(5)))
    assert happened == ["sent 0", "resumed 0", "sent 1 2 3 4", *(f"resumed {n}" for n in range(1, 5))]
    received = [(await asyncio.wait_for(layer.receive(channel), 5))["value"] for _ in range(5)]
    assert received == [0, 1, 2, 3, 4]
    await layer.group_discard("batch.test", channel)


def set_marker(value: str) -> str:
    before = marker.get()
    marker.set(value)
    return before


async def test_each_call_runs_in_a_copy_of_its_callers_context() -> None:
    call = events.batched_database_call(set_marker)

    async def caller(name: str) -> tuple[str, str]:
        marker.set(name)
        seen_inside = await call(f"{name}-inside")
        return seen_inside, marker.get()

    results = await asyncio.gather(*(caller(f"c{n}") for n in range(4)))
    # Each call sees its own caller's value, not one a call before it set; nothing leaks back.
    assert results == [(f"c{n}", f"c{n}") for n in range(4)]


def slow(value: int, done: list[int]) -> int:
    time.sleep(0.2)
    done.append(value)
    return value


async def test_a_cancelled_caller_does_not_stop_its_call_nor_the_others() -> None:
    call = events.batched_database_call(slow)
    done: list[int] = []
    first = asyncio.ensure_future(call(1, done))
    second = asyncio.ensure_future(call(2, done))
    await asyncio.sleep(0.05)
    first.cancel()
    assert await second == 2
    assert done == [1, 2]
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await call(3, done) == 3


async def test_a_failed_hand_over_tells_every_caller_and_the_next_call_works(monkeypatch: pytest.MonkeyPatch) -> None:
    run_batch = events._run_batch

    def broken(calls: list[Any]) -> list[Any]:
        raise RuntimeError("database thread failed")

    monkeypatch.setattr(events, "_run_batch", broken)
    call = events.batched_database_call(echo)
    results = await asyncio.gather(*(call(n) for n in range(4)), return_exceptions=True)
    assert results[0][0] == 0  # type: ignore[index]  # it went alone, before the failure
    assert [str(error) for error in results[1:]] == ["database thread failed"] * 3
    monkeypatch.setattr(events, "_run_batch", run_batch)
    assert (await call(4))[0] == 4
