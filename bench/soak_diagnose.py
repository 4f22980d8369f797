"""Where a soak's memory goes: with `SOAK_DIAGNOSE=<folder>`, `make soak` runs its server through
this launcher, which writes a census of the process's memory to the folder whenever it is sent
SIGUSR1. The soak asks for one at warm-up, every SOAK_DIAGNOSE_EVERY conversations after it (0,
the default: none in between), at the end of the churn and after the idle period;
`python -m bench.soak_diagnose <folder>` then sets them side by side.

A census, taken around a full collection:
- how many objects of each type the collector tracks, and of each type of the garbage that
  collection found (cyclic garbage that was waiting for a collection of its generation);
- the interpreter's allocated blocks and pymalloc's arenas (`sys._debugmallocstats`);
- outside the Python heap: glibc's `mallinfo2` (what the malloc arenas took from the system, and
  how much of it is in use or free), each malloc arena's size and free bytes (`malloc_info`),
  SQLite's own count of its memory, the process's resident anonymous memory;
- with SOAK_DIAGNOSE_FRAMES (frames kept of each allocation's traceback), a `tracemalloc`
  snapshot. Tracing starts at the first census, so a later one holds what was allocated since
  and is still live: what the churn after warm-up left behind. It makes the server several
  times slower and its own memory is in the process's figures, so a traced run's slopes say
  nothing; pymalloc's figures are missing from a census taken while tracing.

With SOAK_DIAGNOSE_COLLECTOR=off the server's collector never runs on its own: a census then
finds all the cyclic garbage made since the server started (tests/test_connection_release.py).
Otherwise the server is the product's launcher (`python -m config.server`) and does between two
censuses what it does in production; a census's collection frees what a later collection would
have, so slopes of a run with censuses in it are flatter than the server's own.
"""

import contextlib
import ctypes
import ctypes.util
import gc
import json
import os
import re
import signal
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

CENSUS = "census-{n:02d}.json"
TRACE = "trace-{n:02d}.tracemalloc"
MALLOC = "malloc-{n:02d}.txt"
ARENAS = "arenas-{n:02d}.xml"


def type_counts() -> Counter[str]:
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def native_memory() -> dict[str, Any]:
    """What the C allocator and SQLite hold: glibc's `mallinfo2` over every malloc arena (bytes
    taken from the system, in use, free inside them, in mmapped chunks) and SQLite's own count
    of what it has allocated (its page caches and statements)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    sqlite = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
    sqlite.sqlite3_memory_used.restype = ctypes.c_int64
    status = Path("/proc/self/status").read_text()
    anonymous = re.search(r"^RssAnon:\s+(\d+) kB", status, re.M)
    return {
        "rss_anon_bytes": int(anonymous.group(1)) * 1024 if anonymous else 0,
        "malloc_arena_bytes": info.arena,
        "malloc_in_use_bytes": info.uordblks,
        "malloc_free_bytes": info.fordblks,
        "malloc_mmapped_bytes": info.hblkhd,
        "sqlite_bytes": sqlite.sqlite3_memory_used(),
    }


def pymalloc_arenas(text: str) -> dict[str, int]:
    """pymalloc's arena counts from `sys._debugmallocstats`' text."""
    found = {}
    for key, label in (
        ("arenas_allocated_current", "# arenas allocated current"),
        ("arenas_highwater", "# arenas highwater mark"),
    ):
        match = re.search(rf"^{re.escape(label)}\s*=\s*([\d,]+)", text, re.M)
        if match:
            found[key] = int(match.group(1).replace(",", ""))
    for key, label in (
        ("pymalloc_allocated_blocks_bytes", "bytes in allocated blocks"),
        ("pymalloc_available_blocks_bytes", "bytes in available blocks"),
    ):
        match = re.search(rf"^# {re.escape(label)}\s*=\s*([\d,]+)", text, re.M)
        if match:
            found[key] = int(match.group(1).replace(",", ""))
    return found


NATIVE = (
    "rss_anon_bytes",
    "malloc_arena_bytes",
    "malloc_in_use_bytes",
    "malloc_free_bytes",
    "malloc_mmapped_bytes",
    "sqlite_bytes",
    "arenas_allocated_current",
    "pymalloc_allocated_blocks_bytes",
    "pymalloc_available_blocks_bytes",
)


def census(folder: Path, n: int) -> None:
    before = type_counts()
    collected = gc.collect()
    after = type_counts()
    malloc_text = malloc_stats(folder / MALLOC.format(n=n))
    record: dict[str, Any] = {
        "t": time.time(),
        **native_memory(),
        **pymalloc_arenas(malloc_text),
        "collected": collected,
        "allocated_blocks": sys.getallocatedblocks(),
        "tracked_before_collection": sum(before.values()),
        "tracked": sum(after.values()),
        "frozen": gc.get_freeze_count(),
        "threads": sorted(thread.name for thread in threading.enumerate()),
        "types": dict(after.most_common()),
        "garbage_types": dict((before - after).most_common()),
    }
    frames = int(os.environ.get("SOAK_DIAGNOSE_FRAMES", "0"))
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(folder / TRACE.format(n=n)))
    elif frames:
        # From the first census on: what a later one finds traced was allocated since. (While
        # tracing, pymalloc's statistics are not available: tracemalloc wraps the allocator.)
        tracemalloc.start(frames)
    arenas(folder / ARENAS.format(n=n))
    # Written last: the soak waits for this file.
    (folder / CENSUS.format(n=n)).write_text(json.dumps(record, indent=0))


def arenas(path: Path) -> None:
    """glibc's `malloc_info`: each malloc arena's free chunks by size, and what it took from the
    system (XML)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    stream = libc.fopen(str(path).encode(), b"w")
    try:
        libc.malloc_info(0, stream)
    finally:
        libc.fclose(stream)


def malloc_stats(path: Path) -> str:
    """pymalloc's statistics (`sys._debugmallocstats`, written to the C stderr: pointed at a file
    for the call), kept in `path`."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "wb") as out:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return path.read_text()


def install(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    taken = [0]

    def on_signal(signum: int, frame: Any) -> None:
        census(folder, taken[0])
        taken[0] += 1

    signal.signal(signal.SIGUSR1, on_signal)


def arena_rows(paths: list[Path]) -> list[str]:
    """Each malloc arena's size and free bytes (KiB), a column per census."""
    by_arena: dict[str, list[str]] = {}
    for path in paths:
        # glibc's own XML, read with patterns: one <heap nr=...> element per arena.
        for nr, body in re.findall(r'<heap nr="(\d+)">(.*?)</heap>', path.read_text(), re.S):
            system = re.search(r'<system type="current" size="(\d+)"', body)
            free = sum(int(n) for n in re.findall(r'<total type="(?:fast|rest)" count="\d+" size="(\d+)"', body))
            size = int(system.group(1)) if system else 0
            by_arena.setdefault(nr, []).append(f"{size // 1024:>7}/{free // 1024:<6}")
    return [f"malloc arena {nr:<21}" + "".join(cells) for nr, cells in by_arena.items()]


def trace_rows(traces: list[Path], top: int) -> list[str]:
    """What the first traced census holds (allocated since tracing started, still live), then
    what grew between it and the last: by line, then the largest by traceback."""
    lines: list[str] = []
    if not traces:
        return lines
    first = tracemalloc.Snapshot.load(str(traces[0]))
    lines.append(f"allocated since tracing started and still live at {traces[0].name} (by line):")
    lines.extend(f"  {stat}" for stat in first.statistics("lineno")[:top])
    lines.append("the same, by traceback (largest):")
    for stat in first.statistics("traceback")[: top // 4]:
        lines.append(f"  {stat.size / 1024:.1f} KiB in {stat.count} blocks:")
        lines.extend(f"      {line}" for line in stat.traceback.format(limit=12))
    if len(traces) >= 2:
        last = tracemalloc.Snapshot.load(str(traces[-1]))
        lines.append(f"growth from {traces[0].name} to {traces[-1].name} (by line):")
        lines.extend(f"  {diff}" for diff in last.compare_to(first, "lineno")[:top])
        lines.append("the same, by traceback (largest):")
        for diff in last.compare_to(first, "traceback")[: top // 4]:
            lines.append(f"  {diff.size_diff / 1024:.1f} KiB in {diff.count_diff} blocks:")
            lines.extend(f"      {line}" for line in diff.traceback.format(limit=12))
    return lines


def compare(folder: Path, top: int = 40) -> str:
    """The growth between the first census and the last: object types, then allocation sites."""
    names = sorted(folder.glob("census-*.json"))
    first, last = (json.loads(p.read_text()) for p in (names[0], names[-1]))
    censuses = [json.loads(p.read_text()) for p in names]
    columns = [key for key in NATIVE if key in censuses[0]]
    counts_file = folder / "conversations.txt"
    counts = counts_file.read_text().split() if counts_file.exists() else []
    keys = ["collected", "tracked", "allocated_blocks", *columns]
    lines = []
    for key in keys:  # a row per figure, a column per census
        # pymalloc's figures are missing from a census taken while tracing.
        cells = [f"{record[key]:>12,}" if key in record else f"{'-':>12}" for record in censuses]
        lines.append(f"{key:<34}" + "".join(cells))
    lines.insert(0, f"{'conversations':<34}" + "".join(f"{c:>12}" for c in counts))
    lines.extend(arena_rows(sorted(folder.glob("arenas-*.xml"))))
    lines += [
        f"{names[0].name} -> {names[-1].name}: allocated blocks {first['allocated_blocks']} -> "
        f"{last['allocated_blocks']}, tracked objects {first['tracked']} -> {last['tracked']}, "
        f"garbage found at the census {first['collected']} / {last['collected']}",
        "object types, growth:",
    ]
    growth = Counter(last["types"])
    growth.subtract(first["types"])
    for name, count in growth.most_common(top):
        if count > 0:
            lines.append(f"  {count:>8} {name} ({last['types'][name]})")
    lines.extend(trace_rows(sorted(folder.glob("trace-*.tracemalloc")), top))
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    install(Path(os.environ["SOAK_DIAGNOSE"]))
    if os.environ.get("SOAK_DIAGNOSE_COLLECTOR") == "off":
        # Nothing collected but by a census, which then finds all the cyclic garbage made since
        # the server started (tests/test_connection_release.py).
        gc.disable()
    from config import server

    with contextlib.suppress(KeyboardInterrupt):
        server.main(argv)


if __name__ == "__main__":
    if len(sys.argv) == 2 and not sys.argv[1].startswith("-"):
        print(compare(Path(sys.argv[1])))  # noqa: T201
    else:
        main(sys.argv[1:])
