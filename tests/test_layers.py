"""The embedded profile's channel layer keeps Channels' in-memory semantics (what is received is
not the sender's dict; groups, capacity, expiry) at a cost that does not grow with the number of sockets."""

import asyncio
import copy
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from channels.exceptions import ChannelFull
from hypothesis import given
from hypothesis import strategies as st

from chat.engine import layers
from chat.engine.layers import EmbeddedChannelLayer, json_copy
from tests.support.loops import on_own_loop, runs_on_own_loop

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=30,
)


@given(json_values)
def test_json_copy_equals_a_deep_copy_and_shares_nothing_mutable(value: Any) -> None:
    copied = json_copy(value)
    assert copied == copy.deepcopy(value)

    def containers(v: Any) -> list[int]:
        if isinstance(v, dict):
            return [id(v), *(i for item in v.values() for i in containers(item))]
        if isinstance(v, list):
            return [id(v), *(i for item in v for i in containers(item))]
        return []

    assert not set(containers(copied)) & set(containers(value))


def test_immutable_values_are_kept_as_they_are() -> None:
    stamp, key = datetime.now(tz=UTC), uuid.uuid4()
    copied = json_copy({"at": stamp, "id": key, "pair": (1, [2])})
    assert copied["at"] is stamp and copied["id"] is key and copied["pair"] == (1, [2])


@runs_on_own_loop
async def test_a_group_send_is_copied_once_away_from_the_sender() -> None:
    layer = EmbeddedChannelLayer()
    one, two = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("conv.a", one)
    await layer.group_add("conv.a", two)
    await layer.group_add("conv.b", two)
    event: dict[str, Any] = {"type": "chat.entry", "entry": {"text": "hello", "data": {"public": {}}}}
    await layer.group_send("conv.a", event)
    event["entry"]["text"] = "changed by the sender afterwards"
    first, second = await layer.receive(one), await layer.receive(two)
    # The members share one copy (consumers only read events); the sender's dict is not it.
    assert first is second and first["entry"]["text"] == "hello"
    await layer.send(one, event)
    assert (await layer.receive(one)) is not event
    await layer.group_send("conv.b", {"type": "only.two"})
    assert (await layer.receive(two))["type"] == "only.two"


@runs_on_own_loop
async def test_a_full_channel_is_refused_on_send_and_skipped_by_a_group() -> None:
    layer = EmbeddedChannelLayer(capacity=2)
    full, other = await layer.new_channel(), await layer.new_channel()
    for channel in (full, other):
        await layer.group_add("g", channel)
    await layer.send(full, {"type": "x"})
    await layer.send(full, {"type": "x"})
    with pytest.raises(ChannelFull):
        await layer.send(full, {"type": "x"})
    await layer.group_send("g", {"type": "y"})
    assert (await layer.receive(other))["type"] == "y"


@runs_on_own_loop
async def test_expired_messages_are_still_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = EmbeddedChannelLayer(expiry=60)
    stale, fresh = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", stale)
    await layer.send(stale, {"type": "old"})
    layer.channels[stale].items[0] = (0.0, {"type": "old"})
    monkeypatch.setattr(layers, "SWEEP_EVERY_SECONDS", 0.0)
    await layer.group_send("g", {"type": "new"})  # sweeps first: the expired entry goes, and the
    assert stale not in layer.groups.get("g", {})  # channel with it leaves its groups
    await layer.send(fresh, {"type": "kept"})
    assert (await layer.receive(fresh))["type"] == "kept"


@runs_on_own_loop
async def test_an_unread_channel_leaves_all_its_groups_in_one_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = EmbeddedChannelLayer(expiry=60, capacity=200)
    unread, reader = await layer.new_channel(), await layer.new_channel()
    for n in range(50):
        await layer.group_add(f"g{n}", unread)
        await layer.group_add(f"g{n}", reader)
    for _ in range(100):
        await layer.send(unread, {"type": "old"})
    queue = layer.channels[unread].items
    for i in range(90):  # 90 of them expired, the last 10 not yet
        queue[i] = (0.0, queue[i][1])
    monkeypatch.setattr(layers, "SWEEP_EVERY_SECONDS", 0.0)
    await layer.group_send("g0", {"type": "new"})
    assert all(unread not in layer.groups[f"g{n}"] and reader in layer.groups[f"g{n}"] for n in range(50))
    assert len(layer.channels[unread].items) == 10  # only the expired ones were dropped
    assert (await layer.receive(reader))["type"] == "new"


@runs_on_own_loop
async def test_a_group_the_sweep_empties_is_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = EmbeddedChannelLayer(expiry=60)
    gone, reader = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("conversation-1", gone)  # a socket that vanished without leaving
    await layer.group_add("kept", gone)
    await layer.group_add("kept", reader)
    await layer.send(gone, {"type": "old"})
    layer.channels[gone].items[0] = (0.0, {"type": "old"})
    monkeypatch.setattr(layers, "SWEEP_EVERY_SECONDS", 0.0)
    await layer.group_send("kept", {"type": "new"})
    assert "conversation-1" not in layer.groups
    assert list(layer.groups["kept"]) == [reader]
    await layer.group_add("conversation-1", reader)  # the name can be used again
    await layer.group_send("conversation-1", {"type": "again"})
    assert [(await layer.receive(reader))["type"] for _ in range(2)] == ["new", "again"]


@runs_on_own_loop
async def test_channel_names_do_not_repeat_when_random_is_seeded_again() -> None:
    import random

    layer = EmbeddedChannelLayer()
    random.seed(1)
    first = await layer.new_channel()
    random.seed(1)
    assert await layer.new_channel() != first
    layer.require_valid_channel_name(first)


@runs_on_own_loop
async def test_a_receiver_waits_and_a_cancelled_one_passes_its_message_on() -> None:
    layer = EmbeddedChannelLayer(capacity=2)
    channel = await layer.new_channel()
    first = asyncio.ensure_future(layer.receive(channel))
    second = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    await layer.send(channel, {"type": "one"})  # wakes the first receiver...
    first.cancel()  # ...which is cancelled before it runs: the message is not lost
    assert (await asyncio.wait_for(second, 1))["type"] == "one"
    assert first.cancelled()
    await layer.send(channel, {"type": "a"})
    await layer.send(channel, {"type": "b"})
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"type": "c"})
    assert [(await layer.receive(channel))["type"] for _ in range(2)] == ["a", "b"]


@runs_on_own_loop
async def test_a_channel_nobody_reads_is_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = EmbeddedChannelLayer()
    closing, read, waiting = [await layer.new_channel() for _ in range(3)]
    # A receiver cancelled with nothing queued (its socket closing): forgotten at once.
    receiver = asyncio.ensure_future(layer.receive(closing))
    await asyncio.sleep(0)
    receiver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiver
    assert closing not in layer.channels
    # One that received keeps its inbox for its next receive, until a sweep finds it unread;
    # a channel with a receiver waiting is never swept.
    await layer.send(read, {"type": "x"})
    assert (await layer.receive(read))["type"] == "x"
    inbox = layer.channels[read]
    waiter = asyncio.ensure_future(layer.receive(waiting))
    await asyncio.sleep(0)
    await layer.send(read, {"type": "y"})
    assert layer.channels[read] is inbox and (await layer.receive(read))["type"] == "y"
    monkeypatch.setattr(layers, "SWEEP_EVERY_SECONDS", 0.0)
    await layer.group_send("nobody", {"type": "z"})  # sweeps first
    assert read not in layer.channels
    assert waiting in layer.channels
    await layer.send(waiting, {"type": "w"})
    assert (await asyncio.wait_for(waiter, 1))["type"] == "w"


def test_a_receiver_left_on_a_closed_loop_does_not_stop_a_send() -> None:
    # A channel read by a task of a loop that closed without finishing it (chat.engine.queueing's
    # process channel, in a test run that starts a loop per test): a send from a later loop is
    # queued, not refused with "Event loop is closed".
    layer = EmbeddedChannelLayer()
    channel = on_own_loop(layer.new_channel())

    def leave_a_reader() -> None:
        old = asyncio.new_event_loop()
        reader = old.create_task(layer.receive(channel))
        old.run_until_complete(asyncio.sleep(0))  # the reader is waiting
        old.close()
        assert not reader.done()

    with ThreadPoolExecutor(1) as pool:  # a thread of its own, as every case here
        pool.submit(leave_a_reader).result()

    async def later() -> Any:
        await layer.send(channel, {"type": "after"})
        return await layer.receive(channel)

    assert on_own_loop(later()) == {"type": "after"}
