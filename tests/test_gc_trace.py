"""A server traces its garbage collections when asked (config/server.py, SERVER_GC_TRACE), and
`make bench` reports their pauses by generation (bench/run.py)."""

import gc
import os
import time
from pathlib import Path

from bench.run import gc_pauses
from config import server


def test_each_collection_is_a_line_of_its_end_generation_length_and_yield(tmp_path: Path) -> None:
    stop = server.trace_garbage_collector(str(tmp_path / "gc"))
    try:
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        before = time.time()
        gc.collect(2)
        gc.collect(0)
    finally:
        stop()
    gc.collect()  # not traced any more
    lines = [line.split() for line in (tmp_path / f"gc.{os.getpid()}").read_text().splitlines()]
    assert [int(line[1]) for line in lines] == [2, 0]
    at, _, ms, collected = lines[0]
    assert before <= float(at) <= time.time() and float(ms) >= 0 and int(collected) >= 1


def test_the_bench_sums_pauses_by_generation_and_names_the_longest(tmp_path: Path) -> None:
    trace = tmp_path / "gc.1"
    trace.write_text(
        "99.0 0 50.00 1\n"  # before the load: left out
        "100.5 0 2.00 10\n"
        "101.0 0 40.00 12\n"
        "103.0 1 70.00 100\n"
        "104.0 0 3.50 0\n"
        "106.0 2 300.00 9000\n"  # the sockets closing once the load stopped: left out
    )

    pauses = gc_pauses(str(trace), since=100.0, until=105.0, steady_from=102.0)

    assert pauses["gen0"] == {
        "n": 3,
        "total_ms": 45.5,
        "max_ms": 40.0,
        "steady_n": 1,
        "steady_total_ms": 3.5,
        "steady_max_ms": 3.5,
    }
    assert pauses["gen1"]["n"] == 1 and pauses["gen1"]["steady_max_ms"] == 70.0
    assert pauses["gen2"]["n"] == 0 and pauses["gen2"]["max_ms"] == 0.0
    assert pauses["longest"][:2] == [[1.0, 1, 70.0], [-1.0, 0, 40.0]]
    assert gc_pauses(str(tmp_path / "missing"), since=0.0, until=1.0) == {}
