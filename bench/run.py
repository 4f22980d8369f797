"""`make bench`: drive the real server with bench/loadgen.py and report.

For each setup (embedded profile, scaled with one daphne, scaled with two) it prepares a fresh
database, starts daphne with the baseline relays routed too (bench/relay.py), runs the chat load
and then each relay's load at the same rhythm, each on a fresh server, samples CPU and memory of
every server process, and writes
bench-results/<setup>.json plus a chart, bench-results/bench.png. Sizes come from BENCH_* variables
(see docs/performance.md); only 127.0.0.1 is ever contacted.
"""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from config.server import event_loop
from harness.servers import ROOT, Process, daphne, free_port, stop_all, wait_listening

RESULTS = ROOT / "bench-results"
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"n": len(ordered), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1] * 1000, 2)}


class Sampler(threading.Thread):
    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.processes = [psutil.Process(pid) for pid in pids]
        self.samples: dict[int, list[tuple[float, float]]] = {p.pid: [] for p in self.processes}
        # CPU seconds of each process's main thread (the event loop) and of its other threads
        # (Channels' database thread, mostly), each second: the GIL lets their sum reach about
        # one core, whatever either needs.
        self.threads: dict[int, list[tuple[float, float]]] = {p.pid: [] for p in self.processes}
        self.stopped = threading.Event()

    @staticmethod
    def _thread_seconds(process: psutil.Process) -> tuple[float, float]:
        main = other = 0.0
        for thread in process.threads():
            seconds = thread.user_time + thread.system_time
            if thread.id == process.pid:
                main += seconds
            else:
                other += seconds
        return main, other

    def run(self) -> None:
        last: dict[int, tuple[float, float]] = {}
        for p in self.processes:
            p.cpu_percent(None)
            with contextlib.suppress(psutil.Error):
                last[p.pid] = self._thread_seconds(p)
        while not self.stopped.wait(1.0):
            for p in self.processes:
                with contextlib.suppress(psutil.Error):
                    cpu, rss, now = p.cpu_percent(None), p.memory_info().rss / 2**20, self._thread_seconds(p)
                    before = last.get(p.pid, now)
                    self.samples[p.pid].append((cpu, rss))
                    self.threads[p.pid].append((100 * (now[0] - before[0]), 100 * (now[1] - before[1])))
                    last[p.pid] = now

    def summary(self) -> list[dict[str, Any]]:
        out = []
        for pid, samples in self.samples.items():
            if samples:
                out.append(
                    {
                        "pid": pid,
                        "cpu_mean_percent": round(statistics.mean(s[0] for s in samples), 1),
                        "cpu_max_percent": round(max(s[0] for s in samples), 1),
                        "rss_max_mb": round(max(s[1] for s in samples), 1),
                        "rss_last_mb": round(samples[-1][1], 1),
                        "cpu_percent_each_second": [round(s[0]) for s in samples],
                        "cpu_main_thread_mean_percent": round(statistics.mean(t[0] for t in self.threads[pid]), 1),
                        "cpu_other_threads_mean_percent": round(statistics.mean(t[1] for t in self.threads[pid]), 1),
                        "cpu_threads_each_second": [[round(t[0]), round(t[1])] for t in self.threads[pid]],
                    }
                )
        return out


def gc_pauses(trace: str, *, since: float, until: float, steady_from: float | None = None) -> dict[str, Any]:
    """A server's garbage collections from its trace (config/server.py, SERVER_GC_TRACE) while
    the load ran (`since` to `until`, when the clients stopped sending; the sockets closing after
    it are left out): by generation, how many, their total and longest pause in ms, and the same
    for those once the load was steady; and the five longest, in seconds after `steady_from`."""
    with contextlib.suppress(FileNotFoundError), open(trace) as lines:
        rows = [line.split() for line in lines]
        pauses = [
            (float(at), int(generation), float(ms)) for at, generation, ms, _ in rows if since <= float(at) <= until
        ]
        summary: dict[str, Any] = {}
        for generation in (0, 1, 2):
            mine = [(at, ms) for at, g, ms in pauses if g == generation]
            steady = [ms for at, ms in mine if steady_from is not None and at >= steady_from]
            summary[f"gen{generation}"] = {
                "n": len(mine),
                "total_ms": round(sum(ms for _, ms in mine), 1),
                "max_ms": round(max((ms for _, ms in mine), default=0.0), 1),
                "steady_n": len(steady),
                "steady_total_ms": round(sum(steady), 1),
                "steady_max_ms": round(max(steady, default=0.0), 1),
            }
        origin = steady_from if steady_from is not None else since
        longest = sorted(pauses, key=lambda pause: -pause[2])[:5]
        summary["longest"] = [[round(at - origin, 1), generation, round(ms, 1)] for at, generation, ms in longest]
        return summary
    return {}


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


# The load generator's processes: 1 runs every socket in one; 2 puts the visitors' sockets (the
# relay's first sockets) in one and the consoles' (the second) in the other, so the visitors'
# figures leave out the consoles' bursts of queue snapshots (bench/loadgen.py). On the 2-core
# development machine the second process costs the server more than it takes out of the
# figures (docs/performance.md, standing decisions), so 1 is the default.
CLIENT_PROCESSES = int(os.environ.get("BENCH_CLIENT_PROCESSES", "1"))
if CLIENT_PROCESSES not in (1, 2):
    raise SystemExit(f"BENCH_CLIENT_PROCESSES is 1 or 2, not {CLIENT_PROCESSES}")
# BENCH_TYPING=0: the chat's messages without the typing event sent before each (to see what
# the typing events cost; the relays never send them).
TYPING = os.environ.get("BENCH_TYPING", "1") != "0"


def run_clients(args: list[str], *, split: bool, timeout: float) -> dict[str, Any]:
    """Run the load generator, as one process or as its two sides, and return its figures.

    Each process writes its figures to a file and its stderr to another: a pipe read only after
    the other side's would fill up, and a run's figures once could not be read back from a pipe.
    """
    from bench.loadgen import merge

    with tempfile.TemporaryDirectory(prefix="bench-exchange-") as exchange:
        folder = Path(exchange)
        names = ("visitors", "consoles") if split else ("both",)
        # Both sides start their ramp at the same moment, once both have loaded.
        common = [*args, "--exchange", exchange, "--start-at", str(time.time() + 3)] if split else args
        clients = []
        for name in names:
            with (folder / f"stderr-{name}.txt").open("w") as errors:
                command = [*common, "--side", name, "--output", str(folder / f"part-{name}.json")]
                clients.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors))  # noqa: S603
        give_up = time.time() + timeout
        for client in clients:
            try:
                client.wait(timeout=max(0.0, give_up - time.time()))
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait()
        parts = []
        for name, client in zip(names, clients, strict=True):
            part = folder / f"part-{name}.json"
            if not part.exists():
                # The run's error (its exit status, what it said), not a traceback that loses
                # the other setups' figures.
                stderr = (folder / f"stderr-{name}.txt").read_text()[-2000:]
                return {"error": f"load generator ({name}) exited {client.returncode} without figures: {stderr}"}
            parts.append(json.loads(part.read_text()))
    return merge(parts) if split else parts[0]


def server_env(origin: str) -> dict[str, str]:
    """A benchmark server's environment: this one's without a profile's URLs, pages and sockets
    for `origin` only, rate limits a load generator's sockets stay under, warnings only."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "WIDGET_ALLOWED_ORIGINS": origin,
            "CONSOLE_ALLOWED_ORIGINS": origin,
            "CHAT_RATE_PER_SECOND": "50",
            "CHAT_RATE_BURST": "100",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def setup(
    name: str,
    *,
    scaled: bool,
    processes: int,
    conversations: int,
    advisors: int,
    duration: float,
    ramp: float,
    low: float,
    high: float,
    modes: tuple[str, ...] = ("chat", "relay"),
) -> dict[str, Any]:
    ports = [free_port() for _ in range(processes)]
    origin = f"http://127.0.0.1:{ports[0]}"
    env = server_env(origin)
    tmp = tempfile.mkdtemp(prefix="bench-")
    env.update({"BENCH_RELAY": "1", "SERVER_GC_TRACE": f"{tmp}/gc"})
    if scaled:
        database = f"bench_{uuid.uuid4().hex[:8]}"
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)  # noqa: S603, S607
        env.update(
            {
                "DATABASE_URL": f"{PG}/{database}",
                "REDIS_URL": REDIS,
                "CHANNEL_PREFIX": f"bench-{uuid.uuid4().hex[:6]}",
                "DB_POOL_MAX": "20",
            }
        )
    else:
        database = ""
        env["SQLITE_PATH"] = f"{tmp}/bench.sqlite3"
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo_setup")
    capacity = -(-conversations // advisors) + 1
    cookies = (
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "bench.prepare", "--advisors", str(advisors), "--capacity", str(capacity)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    servers = [daphne(f"daphne-{n}", env=env, port=port, wait=False) for n, port in enumerate(ports, 1)]
    try:
        wait_listening(*servers)
        idle_rss = [round(psutil.Process(s.pid).memory_info().rss / 2**20, 1) for s in servers]
        results: dict[str, Any] = {
            "setup": name,
            "conversations": conversations,
            "advisors": advisors,
            "processes": processes,
            "duration_s": duration,
            "interval_s": [low, high],
            "server_rss_start_mb": idle_rss,
        }
        for mode in modes:
            sampler = Sampler([s.pid for s in servers])
            sampler.start()
            mode_started = time.time()
            args = [
                sys.executable,
                "-m",
                "bench.loadgen",
                "--mode",
                mode,
                "--origin",
                origin,
                "--conversations",
                str(conversations),
                "--duration",
                str(duration),
                "--ramp",
                str(ramp),
                "--min-interval",
                str(low),
                "--max-interval",
                str(high),
                "--cookies",
                cookies,
            ]
            for port in ports:
                args += ["--url", f"ws://127.0.0.1:{port}"]
            if not TYPING:
                args.append("--no-typing")
            split = mode in ("chat", "relay", "relay-write") and CLIENT_PROCESSES == 2
            raw = run_clients(args, split=split, timeout=duration + ramp + 120)
            sampler.stopped.set()
            latency = raw.pop("latency", {})
            raw["latency_ms"] = {k: percentiles(v) for k, v in latency.items()}
            raw["connect_ms"] = percentiles(raw.pop("connect_seconds", []))
            raw["messages_per_second"] = round(raw.get("messages_received", 0) / max(1.0, duration), 1)
            raw["server_processes"] = sampler.summary()
            raw["server_gc"] = [
                gc_pauses(
                    f"{tmp}/gc.{s.pid}",
                    since=mode_started,
                    until=mode_started + ramp + duration,
                    steady_from=raw.get("steady_from"),
                )
                for s in servers
            ]
            results[mode] = raw
        return results
    finally:
        stop(servers, database)


def stop(servers: list[Process], database: str) -> None:
    """Stops the servers (killed if they take over 10 s) and drops their database, if any."""
    stop_all(servers)
    if database:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], check=False)  # noqa: S603, S607


# Each baseline's mode and the key its ratios go under.
BASELINES = {"relay": "p99_ratio_to_relay", "relay-write": "p99_ratio_to_writing_relay"}


def ratio_of(results: dict[str, Any], mode: str) -> None:
    """Each chat p99 as a multiple of a baseline's p99 (run on a server of its own, same sizes)."""
    for suffix in ("", "_steady"):
        relay_p99 = (results[mode]["latency_ms"].get(f"relay{suffix}") or {}).get("p99")
        for kind in ("visitor_to_advisor", "advisor_to_visitor"):
            chat_p99 = (results["chat"]["latency_ms"].get(f"{kind}{suffix}") or {}).get("p99")
            if chat_p99 and relay_p99:
                results.setdefault(BASELINES[mode], {})[f"{kind}{suffix}"] = round(chat_p99 / relay_p99, 2)


def chart(all_results: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    labels: list[str] = []
    series: dict[str, list[float]] = {
        "visitor→advisor p99": [],
        "advisor→visitor p99": [],
        "handoff p99": [],
        "relay p99": [],
        "writing relay p99": [],
    }
    for result in all_results:
        labels.append(result["setup"])
        lat = result["chat"]["latency_ms"]
        series["visitor→advisor p99"].append((lat.get("visitor_to_advisor") or {}).get("p99") or 0)
        series["advisor→visitor p99"].append((lat.get("advisor_to_visitor") or {}).get("p99") or 0)
        series["handoff p99"].append((lat.get("handoff") or {}).get("p99") or 0)
        relay = result.get("relay", {}).get("latency_ms", {})
        series["relay p99"].append((relay.get("relay") or {}).get("p99") or 0)
        writing = result.get("relay-write", {}).get("latency_ms", {})
        series["writing relay p99"].append((writing.get("relay") or {}).get("p99") or 0)
    width = 0.16
    for i, (name, values) in enumerate(series.items()):
        axes[0].bar([x + i * width for x in range(len(labels))], values, width, label=name)
    axes[0].set_xticks([x + (len(series) - 1) / 2 * width for x in range(len(labels))], labels)
    axes[0].set_ylabel("milliseconds")
    axes[0].set_title("p99 latency")
    axes[0].legend(fontsize=8)
    axes[1].bar(labels, [r["chat"]["messages_per_second"] for r in all_results], color="#1d4f91")
    axes[1].set_title("messages delivered per second")
    fig.tight_layout()
    fig.savefig(RESULTS / "bench.png", dpi=110)


def idle(name: str, *, scaled: bool) -> None:
    """N sockets arriving within a few seconds, then idle: connection errors, time until all are
    greeted, and the server's resident memory while they sit there."""
    sockets = int(os.environ.get("BENCH_IDLE_SOCKETS", "2000"))
    ramp = float(os.environ.get("BENCH_IDLE_RAMP", "10"))
    hold = float(os.environ.get("BENCH_IDLE_HOLD", "20"))
    result: dict[str, Any] = {}
    for mode in ("idle", "idle-relay"):  # each on a fresh server: freed memory is not given back
        result[mode] = setup(
            name,
            scaled=scaled,
            processes=1,
            conversations=sockets,
            advisors=1,
            duration=hold,
            ramp=ramp,
            low=1,
            high=1,
            modes=(mode,),
        )
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    for mode, label in (("idle", "visitor sockets after hello"), ("idle-relay", "bare relay sockets")):
        run = result[mode][mode]
        servers = run.get("server_processes") or [{}]
        start = result[mode]["server_rss_start_mb"][0]
        peak = servers[0].get("rss_max_mb")
        per_socket = round((peak - start) * 1024 / max(1, run.get("greeted") or 1), 1) if peak else None
        print(  # noqa: T201
            f"{name}, {label}: {run.get('greeted')} of {sockets} greeted, arriving over {ramp:g} s; all after "
            f"{run.get('all_greeted_after_s')} s; errors {run.get('errors')}\n"
            f"  connect ms: {json.dumps(run.get('connect_ms'))}\n"
            f"  server RSS {start} MB at start, {peak} MB with the sockets idle ({per_socket} KB a socket); "
            f"CPU mean {servers[0].get('cpu_mean_percent')} %"
        )


def machine_speed() -> float:
    """Seconds a fixed pure-Python loop takes now. A shared development machine's speed drifts
    (one day a pure-Python loop ran a third slower than an hour before), so each result carries this
    figure from before and after its loads: runs compare only at similar speeds."""
    started = time.perf_counter()
    total = 0
    for i in range(6_000_000):
        total += i * i
    return round(time.perf_counter() - started, 3)


def main() -> None:
    loop = event_loop()  # the servers' (SERVER_EVENT_LOOP), refused here if unknown
    RESULTS.mkdir(exist_ok=True)
    conversations = int(os.environ.get("BENCH_CONVERSATIONS", "200"))
    # One console socket a conversation by default: 2 sockets a conversation, as the targets count.
    advisors = int(os.environ.get("BENCH_ADVISORS", str(conversations)))
    duration = float(os.environ.get("BENCH_DURATION", "45"))
    ramp = float(os.environ.get("BENCH_RAMP", "10"))
    low, high = float(os.environ.get("BENCH_MIN_INTERVAL", "5")), float(os.environ.get("BENCH_MAX_INTERVAL", "15"))
    setups = os.environ.get("BENCH_SETUPS", "embedded,scaled-1,scaled-2,idle,idle-scaled").split(",")
    # BENCH_MODES=chat skips the baselines (quicker, for profiling).
    modes = os.environ.get("BENCH_MODES", "chat,relay,relay-write").split(",")
    all_results = []
    for name in setups:
        if name.startswith("idle"):
            idle(name, scaled=name == "idle-scaled")
            continue
        scaled = name.startswith("scaled")
        processes = int(name.split("-")[1]) if scaled else 1
        sizes: dict[str, Any] = {
            "scaled": scaled,
            "processes": processes,
            "conversations": conversations,
            "advisors": advisors,
            "duration": duration,
            "ramp": ramp,
            "low": low,
            "high": high,
        }
        speed_before = machine_speed()
        # Each load on a fresh server: a backlog left by the chat load must not be charged to a relay.
        result = setup(name, **sizes, modes=("chat",))
        for baseline in BASELINES:
            if baseline in modes:
                relay = setup(name, **sizes, modes=(baseline,))
                result[baseline] = relay[baseline]
                result[f"server_rss_start_mb_{baseline}"] = relay["server_rss_start_mb"]
                ratio_of(result, baseline)
        result["machine_loop_seconds"] = [speed_before, machine_speed()]
        result["event_loop"] = loop
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
        all_results.append(result)
        chat = result["chat"]
        servers = [
            {k: v for k, v in process.items() if not k.endswith("_each_second")}
            for process in chat.get("server_processes") or []
        ]
        print(  # noqa: T201
            f"{name}: {chat.get('sockets')} sockets, {chat.get('messages_received')} messages, "
            f"lost {chat.get('lost')}, duplicated {chat.get('duplicated')}, errors {chat.get('errors')}\n"
            f"  latency ms: {json.dumps(chat.get('latency_ms'))}\n"
            f"  relay ms: {json.dumps(result.get('relay', {}).get('latency_ms'))}\n"
            f"  p99 ratio to the relay: {result.get('p99_ratio_to_relay')}\n"
            f"  writing relay ms: {json.dumps(result.get('relay-write', {}).get('latency_ms'))}\n"
            f"  p99 ratio to the writing relay: {result.get('p99_ratio_to_writing_relay')}\n"
            f"  server: {json.dumps(servers)}\n"
            f"  server garbage collections: {json.dumps(chat.get('server_gc'))}\n"
            f"  machine loop seconds (before, after): {result['machine_loop_seconds']}"
        )
    if all_results:
        chart(all_results)
    print(f"wrote {RESULTS}/*.json and bench.png")  # noqa: T201


if __name__ == "__main__":
    main()
