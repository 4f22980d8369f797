"""Which server processes are alive, so that visitors whose socket died with its process are
noticed (a SIGKILLed process never runs its consumers' disconnect handlers).

Each daphne process writes a heartbeat key to the cache (Redis in the scaled profile) every
HEARTBEAT_SECONDS. A visitor's connection id names its process. The grace sweep treats a process as
gone only after its key has been missing for longer than a heartbeat interval on two looks, so a
cache restart (which loses every key at once) does not mark live visitors away.
"""

import asyncio
import logging
import secrets
import time
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

PROCESS_ID = secrets.token_hex(6)
HEARTBEAT_SECONDS = 10.0
HEARTBEAT_TTL = 60
_tasks: "dict[asyncio.AbstractEventLoop, asyncio.Task[Any]]" = {}


def connection_id() -> str:
    """A new socket's id: `<process id>:<random>`."""
    return f"{PROCESS_ID}:{secrets.token_hex(8)}"


def process_of(conn_id: str) -> str | None:
    process, sep, _ = conn_id.partition(":")
    return process if sep else None


def _key(process: str) -> str:
    return f"chat:process:{process}"


def beat() -> None:
    cache.set(_key(PROCESS_ID), time.time(), timeout=HEARTBEAT_TTL)


async def _beat_forever() -> None:
    while True:
        try:
            await asyncio.to_thread(beat)
        except Exception:
            # Redis down or restarting: keep beating. A loop that died here would leave this
            # process without a heartbeat once Redis is back, and the grace sweep would then
            # take all its visitors for gone and close their chats (found by `make chaos`).
            logger.warning("presence heartbeat not written; trying again", exc_info=True)
        await asyncio.sleep(HEARTBEAT_SECONDS)


def ensure_heartbeat() -> None:
    """Start this process's heartbeat (once per event loop: daphne has one)."""
    loop = asyncio.get_running_loop()
    task = _tasks.get(loop)
    if task is None or task.done():
        for old_loop in [old for old in _tasks if old.is_closed()]:
            del _tasks[old_loop]
        beat()
        _tasks[loop] = loop.create_task(_beat_forever())


def dead_processes(processes: set[str], *, now: float | None = None) -> set[str]:
    """The processes among these whose heartbeat has been missing on two looks, far enough apart."""
    now = now or time.time()
    if not processes:
        return set()
    alive = cache.get_many([_key(p) for p in processes])
    dead = set()
    for process in processes:
        if _key(process) in alive:
            continue
        suspect_key = f"chat:process-missing:{process}"
        first_missed = cache.get(suspect_key)
        if first_missed is None:
            cache.set(suspect_key, now, timeout=HEARTBEAT_TTL * 10)
        elif now - float(first_missed) > HEARTBEAT_SECONDS * 1.5:
            dead.add(process)
    return dead
