"""What a consumer's event loop leaves for the garbage collector and costs the event loop:
Channels' `await_many_dispatch` against chat/engine/dispatch.py, in one process, on the product's
embedded channel layer and an asyncio queue standing for daphne's queue of socket frames.

BENCH_SOCKETS consumers (2,000) each run the loop over their two sources, as a socket does; the
memory the loops hold once they wait (traced by tracemalloc) is given per socket. With
every loop waiting, everything alive is frozen out of the collector's reach; then each consumer
gets one layer event and dispatches it. What is left in the youngest generation is what each
event made and kept (the new waiting state), and a young collection over it is timed, as one
would come during arrivals. Then BENCH_ROUNDS rounds of one event per consumer are timed (CPU
time of the whole loop, per event). The two loops run alternately, BENCH_REPEATS times each.
Prints one JSON line.

    .venv/bin/python -m bench.dispatch
"""

import asyncio
import functools
import gc
import json
import os
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Loop = Callable[[list[Callable[[], Awaitable[Any]]], Callable[[Any], Awaitable[None]]], Coroutine[Any, Any, None]]


async def measure(loop_impl: Loop, sockets: int, rounds: int) -> dict[str, float]:
    from chat.engine.layers import EmbeddedChannelLayer

    layer = EmbeddedChannelLayer(capacity=100)
    dispatched = 0
    target = 0
    all_done = asyncio.Event()

    async def dispatch(event: Any) -> None:
        nonlocal dispatched
        dispatched += 1
        if dispatched == target:
            all_done.set()

    async def deliver_one_each(channels: list[str]) -> None:
        nonlocal target
        all_done.clear()
        target = dispatched + len(channels)
        for channel in channels:
            await layer.send(channel, {"type": "chat.entry", "n": 1})
        await all_done.wait()

    channels = [await layer.new_channel() for _ in range(sockets)]
    frames: list[asyncio.Queue[Any]] = [asyncio.Queue() for _ in range(sockets)]
    sources: list[list[Callable[[], Awaitable[Any]]]] = [
        [frames[i].get, functools.partial(layer.receive, channels[i])] for i in range(sockets)
    ]
    await asyncio.sleep(0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    consumers = [asyncio.create_task(loop_impl(sources[i], dispatch)) for i in range(sockets)]
    await deliver_one_each(channels)  # every loop past its start, waiting again
    waiting_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()

    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        await deliver_one_each(channels)
        young = len(gc.get_objects(0))
        started = time.perf_counter()
        gc.collect(0)
        young_collection_ms = (time.perf_counter() - started) * 1000
    finally:
        gc.enable()
        gc.unfreeze()

    started_cpu = time.process_time()
    for _ in range(rounds):
        await deliver_one_each(channels)
    cpu_per_event_us = (time.process_time() - started_cpu) / (rounds * sockets) * 1e6

    for consumer in consumers:
        consumer.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    return {
        "waiting_bytes_per_socket": waiting_bytes / sockets,
        "young_objects_per_event": young / sockets,
        "young_collection_ms": young_collection_ms,
        "cpu_per_event_us": cpu_per_event_us,
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from channels.utils import await_many_dispatch

    from chat.engine.dispatch import dispatch_events

    sockets = int(os.environ.get("BENCH_SOCKETS", "2000"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "20"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    loops: dict[str, Loop] = {"channels": await_many_dispatch, "chat.engine.dispatch": dispatch_events}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in loops}
    for _ in range(repeats):
        for name, impl in loops.items():
            runs[name].append(asyncio.run(measure(impl, sockets, rounds)))
    result: dict[str, Any] = {"sockets": sockets, "rounds": rounds, "repeats": repeats}
    for name, figures in runs.items():
        result[name] = {key: round(statistics.median(run[key] for run in figures), 2) for key in figures[0]}
    print(json.dumps(result))  # noqa: T201


if __name__ == "__main__":
    main()
