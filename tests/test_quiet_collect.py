"""An idle server collects its garbage and hands freed memory back; a busy one is left alone
(config/quiet_collect.py)."""

import gc
import weakref

from config import quiet_collect
from config.quiet_collect import QUIET_SECONDS, QUIET_YOUNG, REPEAT_SECONDS, QuietCollector


class Process:
    """A clock and a count of young collections that the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.young = 0
        self.actions: list[str] = []

    def collector(self) -> QuietCollector:
        return QuietCollector(
            clock=lambda: self.now,
            young=lambda: self.young,
            collect=lambda: self.actions.append("collect"),
            release=lambda: self.actions.append("release"),
        )

    def run(self, collector: QuietCollector, seconds: float, young_per_check: int = 0) -> list[bool]:
        """Checks every 10 s for `seconds`, with this many young collections between checks."""
        done = []
        for _ in range(int(seconds // 10)):
            self.now += 10
            self.young += young_per_check
            done.append(collector.check())
        return done


def test_a_busy_process_is_never_given_a_full_collection() -> None:
    process = Process()
    collector = process.collector()

    # Ten minutes at 3 young collections every 10 s: 18 a minute, over the quiet limit.
    assert not any(process.run(collector, REPEAT_SECONDS * 2, young_per_check=3))
    assert process.actions == []


def test_a_quiet_minute_gives_one_full_collection_then_the_memory_back() -> None:
    process = Process()
    collector = process.collector()
    process.run(collector, REPEAT_SECONDS, young_per_check=5)  # busy until now
    assert process.actions == []

    # Load stops; health checks still allocate a little (1 young collection every 20 s).
    done = []
    for step in range(12):
        process.now += 10
        process.young += step % 2
        done.append(collector.check())

    assert done.count(True) == 1
    # Only once the last minute holds at most QUIET_YOUNG young collections (the busy checks at
    # 5 each leave it), and within about a minute of the load stopping.
    assert 3 <= done.index(True) < QUIET_SECONDS // 10
    assert process.actions == ["collect", "release"]
    assert collector.runs == 1


def test_while_idle_it_repeats_only_every_few_minutes() -> None:
    process = Process()
    collector = process.collector()
    process.now += REPEAT_SECONDS  # the start counts as the last full collection

    done = process.run(collector, 3 * REPEAT_SECONDS)

    assert 3 <= done.count(True) <= 4
    assert process.actions == ["collect", "release"] * done.count(True)


def test_the_limit_is_young_collections_in_the_last_minute_not_since_the_start() -> None:
    process = Process()
    collector = process.collector()
    process.now += REPEAT_SECONDS
    process.young += 1000  # a burst long ago
    collector.check()

    checks_a_minute = int(QUIET_SECONDS // 10)
    assert 2 * checks_a_minute > QUIET_YOUNG >= checks_a_minute
    # Two young collections between checks is over the limit: never quiet.
    assert not any(process.run(collector, 3 * QUIET_SECONDS, young_per_check=2))
    # One is under it: once the last minute holds no more than the limit, a collection.
    assert any(process.run(collector, QUIET_SECONDS + 10, young_per_check=1))


def test_the_real_collector_frees_a_cycle_and_trims_the_heap() -> None:
    class Node:
        pass

    node = Node()
    node.self = node  # type: ignore[attr-defined]
    gone = weakref.ref(node)
    del node
    frozen = gc.isenabled()
    gc.disable()  # nothing else may collect it first
    try:
        clock = [0.0]
        collector = QuietCollector(clock=lambda: clock[0], release=quiet_collect.release_free_memory())
        assert gone() is not None
        clock[0] = QUIET_SECONDS
        collector.check()
        clock[0] = REPEAT_SECONDS
        assert collector.check()
        assert gone() is None
    finally:
        if frozen:
            gc.enable()
    # glibc's trim is found on this Debian machine and every image the product ships on.
    assert quiet_collect.release_free_memory() is not None
