"""The arithmetic of `make soak`'s report (bench/soak.py): each sampled resource's slope per
1,000 conversations after warm-up (least squares, with r²), its levels at warm-up, at the end of
the churn and after the idle period, and whether the targets in docs/performance.md hold."""

from typing import Any

METRICS = (
    "rss_mb",
    "uss_mb",
    "heap_mb",
    "anon_mb",
    "open_files",
    "threads",
    "sqlite_files",
    "db_connections",
    "redis_mb",
)
# docs/performance.md: under 0.5 MB per 10,000 conversations, and back within a few MB of the
# warm level after the idle period; open files no more than at warm-up.
RSS_SLOPE_PER_10K_MB = 0.5
RSS_AFTER_IDLE_MB = 5.0
FILES_SLOPE_PER_10K = 1.0


def slope(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares slope of y on x, and r² (1.0 when y does not vary); None under 3 points or
    when x does not vary."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    syy = sum((y - mean_y) ** 2 for _, y in points)
    r2 = 1.0 if syy == 0 else sxy * sxy / (sxx * syy)
    return sxy / sxx, r2


def first_value(rows: list[dict[str, Any]], name: str) -> float | None:
    return next((float(row[name]) for row in rows if row.get(name) is not None), None)


def summarise(samples: list[dict[str, Any]], *, warmup: int) -> dict[str, Any]:
    churn = [s for s in samples if s["phase"] == "churn"]
    warm = [s for s in churn if s["conversations"] >= warmup]
    idle = [s for s in samples if s["phase"] == "idle"]
    out: dict[str, Any] = {
        "warm_samples": len(warm),
        "conversations_after_warmup": (warm[-1]["conversations"] - warm[0]["conversations"]) if warm else 0,
    }
    for name in METRICS:
        points = [(s["conversations"] / 1000, float(s[name])) for s in warm if s.get(name) is not None]
        fitted = slope(points)
        warm_level = first_value(warm, name)
        end_level = first_value(list(reversed(churn)), name)
        idle_level = first_value(list(reversed(idle)), name)
        out[name] = {
            "slope_per_1000": None if fitted is None else round(fitted[0], 4),
            "slope_per_10000": None if fitted is None else round(fitted[0] * 10, 3),
            "r2": None if fitted is None else round(fitted[1], 3),
            "warm": warm_level,
            "end_of_churn": end_level,
            "after_idle": idle_level,
            "after_idle_minus_warm": None
            if warm_level is None or idle_level is None
            else round(idle_level - warm_level, 2),
        }
    rss, files = out["rss_mb"], out["open_files"]
    out["targets"] = {
        "rss_flat": rss["slope_per_10000"] is not None and rss["slope_per_10000"] < RSS_SLOPE_PER_10K_MB,
        "rss_back_after_idle": rss["after_idle_minus_warm"] is not None
        and rss["after_idle_minus_warm"] <= RSS_AFTER_IDLE_MB,
        "open_files_flat": files["slope_per_10000"] is not None and files["slope_per_10000"] < FILES_SLOPE_PER_10K,
        "open_files_back_after_idle": files["after_idle_minus_warm"] is not None
        and files["after_idle_minus_warm"] <= 0,
    }
    return out


def report(result: dict[str, Any]) -> str:
    summary = result["summary"]
    lines = [
        f"soak ({result['config']['profile']}, MALLOC_ARENA_MAX={result.get('malloc_arena_max') or 'unset'}): "
        f"{result['conversations_completed']} of {result['conversations_started']} conversations completed in "
        f"{result['churn_seconds']} s {result['by_ending']}",
        f"  messages {result['messages_sent']}, lost {result['lost']}, doubled {result['doubled']}, "
        f"errors {result['errors']}, open at the end {result['conversations_open_at_end']}",
        f"  frames sent {result['frames_sent']}, counted by the server {result['frames_received_by_server']}",
        f"  after warm-up: {summary['conversations_after_warmup']} conversations, {summary['warm_samples']} samples",
        f"  {'resource':<15}{'/1,000':>10}{'r2':>7}{'warm':>10}{'churn end':>11}{'idle end':>10}{'idle-warm':>11}",
    ]
    for name in METRICS:
        row = summary[name]
        cells = [row["slope_per_1000"], row["r2"], row["warm"], row["end_of_churn"], row["after_idle"]]
        cells.append(row["after_idle_minus_warm"])
        text = ["-" if cell is None else f"{cell:g}" for cell in cells]
        lines.append(f"  {name:<15}{text[0]:>10}{text[1]:>7}{text[2]:>10}{text[3]:>11}{text[4]:>10}{text[5]:>11}")
    lines.append(f"  targets: {summary['targets']}")
    return "\n".join(lines)
