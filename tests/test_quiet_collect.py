"""An idle server collects its garbage and hands freed memory back; a busy one is left alone
(config/quiet_collect.py)."""

import gc
import weakref

from config import quiet_collect
from config.quiet_collect import QUIET_CPU, QUIET_SECONDS, REPEAT_SECONDS, QuietCollector

CHECK = 10.0


class Process:
    """A clock and a CPU time that the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.cpu = 50.0
        self.actions: list[str] = []

    def collector(self) -> QuietCollector:
        return QuietCollector(
            clock=lambda: self.now,
            cpu=lambda: self.cpu,
            collect=lambda: self.actions.append("collect"),
            release=lambda: self.actions.append("release"),
        )

    def run(self, collector: QuietCollector, seconds: float, share: float = 0.0) -> list[bool]:
        """Checks every 10 s for `seconds`, the process using `share` of a core meanwhile."""
        done = []
        for _ in range(int(seconds // CHECK)):
            self.now += CHECK
            self.cpu += CHECK * share
            done.append(collector.check())
        return done


def test_a_busy_process_is_never_given_a_full_collection() -> None:
    process = Process()
    collector = process.collector()

    # Ten minutes at a fifth of a core, then at just over the quiet share.
    assert not any(process.run(collector, REPEAT_SECONDS * 2, share=0.2))
    assert not any(process.run(collector, REPEAT_SECONDS * 2, share=QUIET_CPU * 1.05))
    assert process.actions == []


def test_a_quiet_minute_gives_one_full_collection_then_the_memory_back() -> None:
    process = Process()
    collector = process.collector()
    process.run(collector, REPEAT_SECONDS, share=0.8)  # busy until now
    assert process.actions == []

    # Load stops; health checks still use a little (0.5 % of a core).
    done = process.run(collector, 2 * QUIET_SECONDS, share=0.005)

    assert done.count(True) == 1
    # Not while the last minute still held the load; within about a minute of its end.
    first = done.index(True)
    assert (first + 1) * CHECK >= QUIET_SECONDS * (1 - QUIET_CPU / 0.8)
    assert (first + 1) * CHECK <= QUIET_SECONDS + CHECK
    assert process.actions == ["collect", "release"]


def test_while_idle_it_repeats_only_every_few_minutes() -> None:
    process = Process()
    collector = process.collector()
    process.now += REPEAT_SECONDS  # the start counts as the last full collection

    done = process.run(collector, 3 * REPEAT_SECONDS, share=0.005)

    assert 3 <= done.count(True) <= 4
    assert process.actions == ["collect", "release"] * done.count(True)


def test_the_measure_is_the_last_minute_not_the_whole_life() -> None:
    process = Process()
    collector = process.collector()
    process.now += REPEAT_SECONDS
    process.cpu += 10_000  # a busy past
    collector.check()

    # A minute that used exactly the quiet share is not quiet; under it is.
    assert not any(process.run(collector, 3 * QUIET_SECONDS, share=QUIET_CPU))
    assert any(process.run(collector, QUIET_SECONDS + CHECK, share=QUIET_CPU / 2))


def test_the_real_collector_frees_a_cycle_and_trims_the_heap() -> None:
    class Node:
        pass

    node = Node()
    node.self = node  # type: ignore[attr-defined]
    gone = weakref.ref(node)
    del node
    enabled = gc.isenabled()
    gc.disable()  # nothing else may collect it first
    try:
        clock = [0.0]
        collector = QuietCollector(clock=lambda: clock[0], cpu=lambda: 0.0, release=quiet_collect.release_free_memory())
        assert gone() is not None
        clock[0] = QUIET_SECONDS
        collector.check()
        clock[0] = REPEAT_SECONDS
        assert collector.check()
        assert gone() is None
    finally:
        if enabled:
            gc.enable()
    # glibc's trim is found on this Debian machine and every image the product ships on.
    assert quiet_collect.release_free_memory() is not None
