"""A full garbage collection once the server has gone quiet, and the freed memory handed back.

The server's collector runs rarely (config/server.py, `GC_THRESHOLDS`): a young collection only
after 10,000 more container objects than were freed. Under load that keeps full collections out
of the latencies. On an idle server it means that what the last chats and the health checks
left in reference cycles waits for minutes or hours, and glibc keeps the pages it freed: an idle
server's resident memory crept up although its Python heap stayed flat (docs/performance.md,
long runs).

`QuietCollector` watches the process's CPU time (every thread's). When the last `QUIET_SECONDS`
used less than `QUIET_CPU` of one core (an idle server answering a load balancer's checks every
couple of seconds uses about 1 %; a server busy with chats, tens of percent), it runs one
full collection and asks glibc to return free pages to the system (`malloc_trim`), then waits at
least `REPEAT_SECONDS` before the next. A busy server never gets one; an idle one gets one within
about a minute of going quiet. Both take a few tens of milliseconds on a server with nothing to
do. (How often the young generation is collected says little: with these thresholds a server
serving 40 chats at once collected it only about 5 times a minute.)
"""

from __future__ import annotations

import ctypes
import gc
import threading
import time
from collections import deque
from collections.abc import Callable

QUIET_SECONDS = 60.0
QUIET_CPU = 0.10  # the share of one core that QUIET_SECONDS may have used and still be quiet
REPEAT_SECONDS = 300.0
CHECK_SECONDS = 10.0


def release_free_memory() -> Callable[[], object] | None:
    """glibc's `malloc_trim(0)`, which hands the free pages of every malloc arena back to the
    system; None where the C library has none (musl, macOS). Looked up among the symbols the
    process already has loaded: no search for the library at start-up."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is None:
        return None
    return lambda: trim(0)


class QuietCollector:
    """Decides, at each `check()`, whether the process has been quiet long enough for a full
    collection; the clock, the CPU time and the two actions are given so that tests can drive it."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
        collect: Callable[[], object] = gc.collect,
        release: Callable[[], object] | None = None,
    ) -> None:
        self.clock, self.cpu, self.collect, self.release = clock, cpu, collect, release
        now = clock()
        self.seen: deque[tuple[float, float]] = deque([(now, cpu())])
        self.last_full = now  # the server starts freshly collected (settle_garbage_collector)

    def check(self) -> bool:
        """Records the CPU time used so far; runs a full collection if the last QUIET_SECONDS
        were quiet and the last one was REPEAT_SECONDS ago; whether it did."""
        now, used = self.clock(), self.cpu()
        self.seen.append((now, used))
        while len(self.seen) > 1 and self.seen[1][0] <= now - QUIET_SECONDS:
            self.seen.popleft()
        since, before = self.seen[0]
        if now - since < QUIET_SECONDS or (used - before) / (now - since) >= QUIET_CPU:
            return False
        if now - self.last_full < REPEAT_SECONDS:
            return False
        self.collect()
        if self.release is not None:
            self.release()
        self.last_full = self.clock()
        return True


def start(every: float = CHECK_SECONDS) -> QuietCollector:
    """Checks every `every` seconds on a daemon thread for the process's life."""
    collector = QuietCollector(release=release_free_memory())

    def run() -> None:
        while True:
            time.sleep(every)
            collector.check()

    threading.Thread(target=run, name="quiet-collect", daemon=True).start()
    return collector
