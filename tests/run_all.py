"""`make test`: the embedded run and the scaled run side by side, each line labelled with its
run, then the browser tests on their own, then every run's result. The two profiles share
nothing: the embedded run has its own SQLite files and in-memory layer, the scaled run its own
PostgreSQL database and Redis prefix (tests/scaled_run.py). The browser tests wait for the machine
to themselves: their focus and timing checks should see it as a person's browser would, not
shared with a second test run. Extra arguments go to every run; TEST_PROFILES_IN_TURN=1 runs the
profiles one after the other too."""

import os
import subprocess
import sys
import threading
import time
from typing import IO

RUNS = {
    "embedded": [sys.executable, "-m", "pytest", "-m", "not browser"],
    "scaled": [sys.executable, "-m", "tests.scaled_run"],
    "browser": [sys.executable, "-m", "pytest", "-m", "browser"],
}
SIDE_BY_SIDE = ("embedded", "scaled")


def _relay(name: str, stream: IO[str]) -> None:
    for line in stream:
        sys.stdout.write(f"[{name}] {line}")
        sys.stdout.flush()


def _start(name: str, args: list[str]) -> tuple[subprocess.Popen[str], threading.Thread]:
    env = dict(os.environ)
    if name != "scaled":
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [*RUNS[name], *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert process.stdout is not None
    relay = threading.Thread(target=_relay, args=(name, process.stdout), daemon=True)
    relay.start()
    return process, relay


def main(args: list[str]) -> int:
    in_turn = os.environ.get("TEST_PROFILES_IN_TURN") == "1"
    results: dict[str, tuple[int, float]] = {}
    started = time.monotonic()
    running = []
    for name in SIDE_BY_SIDE:
        process, relay = _start(name, args)
        running.append((name, process, relay))
        if in_turn:
            process.wait()
    for name, process, relay in running:
        code = process.wait()
        relay.join()
        results[name] = (code, time.monotonic() - started)
    process, relay = _start("browser", args)
    code = process.wait()
    relay.join()
    results["browser"] = (code, time.monotonic() - started)
    # pytest's 5 is "no test selected": arguments naming only other tests.
    results = {name: (0 if code == 5 else code, elapsed) for name, (code, elapsed) in results.items()}
    for name, (code, elapsed) in results.items():
        print(f"{name} run: {'passed' if code == 0 else f'FAILED (exit {code})'}, done after {elapsed:.0f} s")  # noqa: T201
    return next((code for code, _ in results.values() if code != 0), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
