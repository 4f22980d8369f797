"""A full garbage collection once the server has gone quiet, and the freed memory handed back.

The server's collector runs rarely (config/server.py, `GC_THRESHOLDS`): a young collection only
after 10,000 more container objects than were freed. Under load that keeps full collections out
of the latencies. On an idle server it means that what the last chats and the health checks
left in reference cycles waits for minutes or hours, and glibc keeps the pages it freed: an idle
server's resident memory crept up although its Python heap stayed flat (docs/performance.md,
long runs).

`QuietCollector` watches how often the young generation is collected, which is how fast the
process allocates. When it has been collected at most `QUIET_YOUNG` times in the last
`QUIET_SECONDS` (a load balancer's health checks every couple of seconds stay under that; one
live chat does not), it runs one full collection and asks glibc to return free pages to the
system (`malloc_trim`), then waits at least `REPEAT_SECONDS` before the next. A busy server
never gets one; an idle one gets one within about a minute of going quiet. Both take a few
tens of milliseconds on a server with nothing to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
import time
from collections import deque
from collections.abc import Callable

QUIET_SECONDS = 60.0
QUIET_YOUNG = 10  # young collections in QUIET_SECONDS that still count as quiet
REPEAT_SECONDS = 300.0
CHECK_SECONDS = 10.0


def young_collections() -> int:
    """How many times the youngest generation has been collected since the process started."""
    return int(gc.get_stats()[0]["collections"])


def release_free_memory() -> Callable[[], object] | None:
    """glibc's `malloc_trim(0)`, which hands the free pages of every malloc arena back to the
    system; None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is None:
        return None
    return lambda: trim(0)


class QuietCollector:
    """Decides, at each `check()`, whether the process has been quiet long enough for a full
    collection; the clock, the counter and the two actions are given so that tests can drive it."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        young: Callable[[], int] = young_collections,
        collect: Callable[[], object] = gc.collect,
        release: Callable[[], object] | None = None,
    ) -> None:
        self.clock, self.young, self.collect, self.release = clock, young, collect, release
        now = clock()
        self.seen: deque[tuple[float, int]] = deque([(now, young())])
        self.last_full = now  # the server starts freshly collected (settle_garbage_collector)
        self.runs = 0

    def check(self) -> bool:
        """Records the young collections so far; runs a full collection if the last
        QUIET_SECONDS were quiet and the last one was REPEAT_SECONDS ago; whether it did."""
        now, count = self.clock(), self.young()
        self.seen.append((now, count))
        while len(self.seen) > 1 and self.seen[1][0] <= now - QUIET_SECONDS:
            self.seen.popleft()
        since, before = self.seen[0]
        if now - since < QUIET_SECONDS or count - before > QUIET_YOUNG:
            return False
        if now - self.last_full < REPEAT_SECONDS:
            return False
        self.collect()
        if self.release is not None:
            self.release()
        self.last_full = self.clock()
        self.runs += 1
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
