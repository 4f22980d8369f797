"""What a waiting channel costs each channel layer in memory: `BENCH_SOCKETS` (2,000) channels
made and each given a pending `receive`, as every socket of a daphne process has, on the
embedded layer (chat.engine.layers) and on the scaled profile's Redis pub/sub layer (channels_redis,
at REDIS_URL, default the local Redis, under a prefix of its own). tracemalloc counts what the
channels hold once made, per channel, and by the file that allocated it. Prints one JSON line.

    .venv/bin/python -m bench.layer_memory
"""

import asyncio
import gc
import json
import os
import sys
import tracemalloc
import uuid
from pathlib import Path
from typing import Any


def short(filename: str) -> str:
    """A file's name from the project's folder, site-packages or the standard library."""
    for marker in ("site-packages/", f"{Path.cwd()}/", f"python{sys.version_info[0]}.{sys.version_info[1]}/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


async def per_waiting_channel(layer: Any, count: int) -> dict[str, Any]:
    # One channel first, so the layer's connections and lazy imports are not counted.
    first = await layer.new_channel()
    waiting = [asyncio.ensure_future(layer.receive(first))]
    await asyncio.sleep(0.2)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    channels = [await layer.new_channel() for _ in range(count)]
    waiting += [asyncio.ensure_future(layer.receive(channel)) for channel in channels]
    await asyncio.sleep(1.0)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    differences = after.compare_to(before, "filename")
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    return {
        "bytes_per_channel": round(sum(d.size_diff for d in differences) / count),
        "by_file": {short(d.traceback[0].filename): round(d.size_diff / count) for d in differences[:6]},
    }


async def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from chat.engine.layers import EmbeddedChannelLayer

    count = int(os.environ.get("BENCH_SOCKETS", "2000"))
    redis = RedisPubSubChannelLayer(
        hosts=[os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")], prefix=f"bench-{uuid.uuid4().hex[:6]}"
    )
    results = {
        "channels": count,
        "embedded": await per_waiting_channel(EmbeddedChannelLayer(capacity=1000, expiry=120), count),
        "redis_pubsub": await per_waiting_channel(redis, count),
    }
    print(json.dumps(results))  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main())
