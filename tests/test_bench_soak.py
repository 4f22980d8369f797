"""`make soak`'s report: each resource's slope per 1,000 conversations after warm-up, its levels,
and the targets of docs/performance.md, from the samples bench/soak.py takes."""

import gc
import json
from pathlib import Path
from typing import Any

import pytest

from bench.soak_diagnose import census, compare
from bench.soak_report import report, slope, summarise


def sample(conversations: int, rss: float, *, phase: str = "churn", files: int = 40) -> dict[str, Any]:
    return {
        "t": 0.0,
        "phase": phase,
        "conversations": conversations,
        "rss_mb": rss,
        "uss_mb": rss - 20,
        "heap_mb": 20.0,
        "anon_mb": rss - 60,
        "open_files": files,
        "threads": 5,
        "sqlite_files": 3,
        "db_connections": None,
        "redis_mb": None,
    }


def test_slope_of_a_straight_line_and_of_noise() -> None:
    assert slope([(0, 1.0), (1, 3.0), (2, 5.0)]) == (2.0, 1.0)
    flat = slope([(0, 4.0), (1, 4.0), (2, 4.0), (3, 4.0)])
    assert flat == (0.0, 1.0)
    fitted = slope([(0, 1.0), (1, 0.0), (2, 1.0), (3, 0.0)])
    assert fitted is not None
    assert fitted[0] == pytest.approx(-0.2)
    assert fitted[1] == pytest.approx(0.2)
    assert slope([(0, 1.0), (1, 2.0)]) is None  # too few points
    assert slope([(1, 1.0), (1, 2.0), (1, 3.0)]) is None  # x never moved


def test_growth_after_warm_up_is_reported_per_thousand_conversations() -> None:
    # Warm-up at 1,000: the steep start before it is left out; then 0.2 MB per 1,000.
    samples = [sample(0, 100.0), sample(500, 130.0)]
    samples += [sample(n, 140.0 + 0.2 * (n - 1000) / 1000) for n in range(1000, 11000, 1000)]
    samples += [sample(10000, 139.0, phase="idle", files=30)]
    summary = summarise(samples, warmup=1000)
    rss = summary["rss_mb"]
    assert rss["slope_per_1000"] == pytest.approx(0.2)
    assert rss["slope_per_10000"] == pytest.approx(2.0)
    assert rss["r2"] == pytest.approx(1.0)
    assert (rss["warm"], rss["end_of_churn"], rss["after_idle"]) == (140.0, pytest.approx(141.8), 139.0)
    assert rss["after_idle_minus_warm"] == -1.0
    assert summary["conversations_after_warmup"] == 9000
    assert summary["warm_samples"] == 10
    assert summary["db_connections"]["slope_per_1000"] is None  # not sampled on this profile
    assert summary["targets"] == {
        "rss_flat": False,  # 2 MB per 10,000 is over the 0.5 MB target
        "rss_back_after_idle": True,
        "open_files_flat": True,
        "open_files_back_after_idle": True,
    }


def test_flat_memory_meets_the_target_and_a_run_too_short_says_so() -> None:
    flat = [sample(n, 150.0 + (0.01 if n % 2000 else 0.0)) for n in range(0, 20000, 1000)]
    flat.append(sample(19000, 160.0, phase="idle", files=41))
    targets = summarise(flat, warmup=0)["targets"]
    assert targets["rss_flat"] is True
    assert targets["rss_back_after_idle"] is False  # 10 MB over the warm level
    assert targets["open_files_back_after_idle"] is False
    short = summarise([sample(0, 100.0), sample(10, 101.0)], warmup=0)
    assert short["rss_mb"]["slope_per_1000"] is None
    assert short["targets"]["rss_flat"] is False


def test_the_report_prints_every_resource() -> None:
    samples = [sample(n, 140.0) for n in range(0, 5000, 1000)] + [sample(4000, 140.0, phase="idle")]
    result = {
        "config": {"profile": "embedded"},
        "malloc_arena_max": None,
        "conversations_completed": 4000,
        "conversations_started": 4000,
        "churn_seconds": 600.0,
        "by_ending": {"visitor_ends": 4000},
        "messages_sent": 16000,
        "lost": 0,
        "doubled": 0,
        "errors": {},
        "conversations_open_at_end": 0.0,
        "frames_sent": 50000,
        "frames_received_by_server": 50000.0,
        "summary": summarise(samples, warmup=1000),
    }
    text = report(result)
    assert "lost 0, doubled 0" in text
    assert "frames sent 50000, counted by the server 50000" in text
    for name in ("rss_mb", "open_files", "threads", "sqlite_files", "db_connections", "redis_mb"):
        assert f"  {name}" in text


def test_a_census_of_memory_and_two_set_side_by_side(tmp_path: Path) -> None:
    """bench/soak_diagnose.py's census, taken here of this process: a garbage cycle made between
    two is found by the second, and the comparison shows every figure and malloc arena."""

    class Knot:
        me: "Knot"

    census(tmp_path, 0)
    gc.disable()  # nothing collects the knots before the census does
    try:
        for _ in range(50):
            knot = Knot()
            knot.me = knot
        del knot
        census(tmp_path, 1)
    finally:
        gc.enable()
    first, second = (json.loads((tmp_path / f"census-0{n}.json").read_text()) for n in (0, 1))
    assert second["garbage_types"][f"{__name__}.{Knot.__qualname__}"] == 50
    for record in (first, second):
        assert record["malloc_in_use_bytes"] > 0 and record["rss_anon_bytes"] > 0
        assert record["arenas_allocated_current"] > 0  # pymalloc's, read from its statistics
        assert record["sqlite_bytes"] >= 0
    text = compare(tmp_path)
    for figure in ("collected", "allocated_blocks", "malloc_free_bytes", "sqlite_bytes", "malloc arena 0"):
        assert figure in text
