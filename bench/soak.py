"""`make soak`: conversations starting and ending continuously against one real daphne process,
to show whether the server grows with the number of conversations it has served.

A fixed number of conversations are live at once (SOAK_CONCURRENCY); each goes through its whole
life with the protocol client of `make bench` (bench/loadgen.py: `Run`, `open_socket`, `Client`):
a visitor's hello, start and triage; an advisor's console (one of SOAK_ADVISORS, open for the
whole run, as on a shift) accepts it; messages both ways, each waited for and counted on
arrival; then one of the ENDINGS, in turn. A supervisor's console stays open too.

It runs for SOAK_DURATION seconds or SOAK_CONVERSATIONS conversations, whichever comes first,
then leaves the server idle (consoles still open) for SOAK_IDLE seconds. Every SOAK_SAMPLE
seconds it asks what a load balancer and a scraper would (`/healthz`, `/healthz/ready`,
`/metrics`) and samples the server process: resident and unique memory, the resident memory of
its main heap and of its anonymous mappings (pymalloc's arenas, other threads' malloc arenas),
open files, threads, the SQLite files it holds (3 a connection) or its database's connections
(pg_stat_activity), and Redis's used memory (INFO memory). The report gives each one's slope per
1,000 conversations after the first SOAK_WARMUP, and its level at warm-up, at the end of the
churn and after the idle period; messages lost and doubled; conversations still open at the end;
and the server's own count of frames received beside the frames sent. Written to
bench-results/soak-<profile>.json; only 127.0.0.1 is contacted. SOAK_PROFILE=scaled runs the
scaled profile on the local PostgreSQL and Redis (BENCH_POSTGRES, BENCH_REDIS_URL as `make
bench`). The rest of the environment reaches the server: `MALLOC_ARENA_MAX=2 make soak`.
`SOAK_DIAGNOSE=<folder>` runs the server through bench/soak_diagnose.py, which writes censuses of
its memory there (at warm-up, every SOAK_DIAGNOSE_EVERY conversations, at the end of the churn
and after the idle period).
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.loadgen import Run, open_socket
from bench.run import PG, REDIS, RESULTS, manage, server_env, stop
from bench.soak_report import report, summarise
from harness.client import Client
from harness.servers import HOST, ROOT, daphne, free_port, spawn

ENDINGS = ("visitor_ends", "quick_exit", "advisor_ends", "dropped", "transferred", "supervised")
TOKEN = "soak-metrics-token"  # noqa: S105 - a throwaway server's
TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "help": []}
WAIT = 20.0  # seconds a step may take before it counts as an error


def settings_from_env() -> dict[str, Any]:
    return {
        "profile": os.environ.get("SOAK_PROFILE", "embedded"),
        "duration": float(os.environ.get("SOAK_DURATION", "300")),
        "conversations": int(os.environ.get("SOAK_CONVERSATIONS", "0")),  # 0: as many as fit
        "concurrency": int(os.environ.get("SOAK_CONCURRENCY", "40")),
        "advisors": int(os.environ.get("SOAK_ADVISORS", "8")),
        "messages": int(os.environ.get("SOAK_MESSAGES", "2")),  # each way, per conversation
        "pause": float(os.environ.get("SOAK_PAUSE", "0.2")),  # between a conversation's steps
        "warmup": int(os.environ.get("SOAK_WARMUP", "500")),
        "idle": float(os.environ.get("SOAK_IDLE", "120")),
        "sample": float(os.environ.get("SOAK_SAMPLE", "2")),
    }


@dataclass
class Console:
    client: Client
    user_id: int
    closed: dict[str, asyncio.Future[None]] = field(default_factory=dict)


class Churn:
    """The conversations, their messages and what arrived."""

    def __init__(self, run: Run, config: dict[str, Any]) -> None:
        self.run = run
        self.config = config
        self.started = 0
        self.completed = 0
        self.by_ending: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        # Each message's arrivals by the socket that received it, until its conversation has
        # ended and it is settled: a console taking a chat over (a transfer, a supervisor
        # watching) is sent the log again, so a message reaching two sockets is no duplicate;
        # reaching one socket twice is.
        self.arrivals: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.messages_sent = 0
        self.lost: list[str] = []
        self.doubled: list[str] = []
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.consoles: list[Console] = []
        self.supervisor: Console | None = None
        self.frames_sent = 0
        self.stop_at = 0.0

    def arrived(self, receiver: Client, text: str) -> None:
        key = text.split("|")[1]
        self.arrivals[key][id(receiver)] += 1
        waiter = self.waiting.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def console(self, n: int, cookie: str) -> Console:
        holder: list[Console] = []

        def on_event(message: dict[str, Any]) -> None:
            kind = message.get("type")
            if kind == "entry" and str(message.get("text", "")).startswith("v|"):
                self.arrived(holder[0].client, message["text"])
            elif kind == "conversation" and message.get("state") == "closed":
                waiter = holder[0].closed.pop(str(message["conversation_id"]), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

        ws = await open_socket(self.run, n, "/ws/console/", cookie=cookie)
        client = Client(ws, on_event, frames=self.run.frames["console"])
        hello = await self.request(client, "hello")
        console = Console(client, int(hello["result"]["user_id"]))
        holder.append(console)
        await self.request(client, "availability.set", availability="on_shift")
        return console

    async def request(self, client: Client, type_: str, **fields: Any) -> dict[str, Any]:
        self.frames_sent += 1
        reply = await client.request(type_, **fields)
        if not reply.get("ok"):
            raise StepFailed(f"{type_}:{reply['error']['code']}")
        return reply

    async def message(self, client: Client, key: str, sent: list[str], **fields: Any) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self.waiting[key] = waiter
        await self.request(client, "message.send", client_msg_id=key, text=f"{key[0]}|{key}|{time.time()}", **fields)
        sent.append(key)
        self.messages_sent += 1
        try:
            await asyncio.wait_for(waiter, WAIT)
        except TimeoutError:
            self.waiting.pop(key, None)
            self.errors["message_late"] += 1

    async def conversation(self, n: int, ending: str) -> None:
        pause = self.config["pause"]
        visitor_ws = await open_socket(self.run, n, "/ws/visitor/")

        def on_visitor(message: dict[str, Any]) -> None:
            if message.get("type") == "entry" and str(message.get("text", "")).startswith("a|"):
                self.arrived(visitor, message["text"])

        visitor = Client(visitor_ws, on_visitor, frames=self.run.frames["visitor"])
        conversation_id = ""
        sent: list[str] = []
        try:
            await self.request(visitor, "hello")
            conversation_id = (await self.request(visitor, "conversation.start"))["result"]["conversation_id"]
            await self.request(visitor, "triage.submit", answers=TRIAGE)
            console = self.consoles[n % len(self.consoles)]
            closed = console.closed[conversation_id] = asyncio.get_running_loop().create_future()
            await self.request(console.client, "conversation.accept", conversation_id=conversation_id)
            for i in range(self.config["messages"]):
                await asyncio.sleep(pause)
                await self.message(visitor, f"v{n}.{i}", sent)
                await asyncio.sleep(pause)
                await self.message(console.client, f"a{n}.{i}", sent, conversation_id=conversation_id)
            await asyncio.sleep(pause)
            await self.end(ending, n, conversation_id, visitor, console, sent)
            try:
                await asyncio.wait_for(asyncio.shield(closed), WAIT)
            except TimeoutError:
                self.errors["close_not_seen"] += 1
            self.completed += 1
            self.by_ending[ending] += 1
        finally:
            for holder in self.consoles:  # a conversation that failed half-way is not waited for
                holder.closed.pop(conversation_id, None)
            await visitor_ws.close()
            self.settle(sent)

    def settle(self, sent: list[str]) -> None:
        """A conversation's messages once it has ended: lost when no socket received one,
        doubled when one socket received it twice."""
        for key in sent:
            counts = self.arrivals.pop(key, None)
            if not counts:
                self.lost.append(key)
            elif max(counts.values()) > 1:
                self.doubled.append(key)

    async def end(
        self, ending: str, n: int, conversation_id: str, visitor: Client, console: Console, sent: list[str]
    ) -> None:
        if ending == "visitor_ends":
            await self.request(visitor, "conversation.end")
        elif ending == "quick_exit":
            await self.request(visitor, "quick_exit")
        elif ending == "advisor_ends":
            await self.request(console.client, "conversation.end", conversation_id=conversation_id, outcome="other")
        elif ending == "dropped":  # the grace period, then the sweep, closes it
            await visitor.ws.close()
        elif ending == "transferred":
            other = self.consoles[(n + 1) % len(self.consoles)]
            other.closed[conversation_id] = console.closed.pop(conversation_id)
            offer = await self.request(
                console.client, "transfer.offer", conversation_id=conversation_id, to_user_id=other.user_id, note=""
            )
            transfer_id = offer["result"]["transfer_id"]
            await self.request(other.client, "transfer.respond", transfer_id=transfer_id, accept=True)
            await self.message(other.client, f"a{n}.t", sent, conversation_id=conversation_id)
            await self.request(other.client, "conversation.end", conversation_id=conversation_id, outcome="other")
        elif ending == "supervised":
            assert self.supervisor is not None
            await self.request(self.supervisor.client, "supervise.monitor", conversation_id=conversation_id)
            await self.message(visitor, f"v{n}.s", sent)
            await self.request(self.supervisor.client, "supervise.leave", conversation_id=conversation_id)
            await self.request(visitor, "conversation.end")

    async def worker(self, numbers: "itertools.count[int]") -> None:
        limit = self.config["conversations"]
        while time.time() < self.stop_at and (not limit or self.started < limit):
            n = next(numbers)
            self.started += 1
            try:
                await self.conversation(n, ENDINGS[n % len(ENDINGS)])
            except StepFailed as failed:
                self.errors[str(failed)] += 1
            except Exception as exc:
                self.errors[exc.__class__.__name__] += 1
            self.run.connect_seconds.clear()  # not kept: it would grow with the run

    def tally(self) -> dict[str, Any]:
        return {
            "conversations_started": self.started,
            "conversations_completed": self.completed,
            "by_ending": dict(self.by_ending),
            "messages_sent": self.messages_sent,
            "lost": len(self.lost),
            "doubled": len(self.doubled),
            "lost_sample": self.lost[:10],
            "doubled_sample": self.doubled[:10],
            "errors": dict(self.errors),
            "frames_sent": self.frames_sent,
        }


class StepFailed(Exception):
    pass


class Sampler(threading.Thread):
    """The server process's resources every few seconds, against conversations completed."""

    def __init__(self, pid: int, churn: Churn, env: dict[str, str], every: float, warmup: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        # With SOAK_DIAGNOSE: a census of the server's memory at warm-up and every
        # SOAK_DIAGNOSE_EVERY conversations after it (0: only at warm-up).
        self.next_census = warmup
        self.census_every = int(os.environ.get("SOAK_DIAGNOSE_EVERY", "0"))
        self.churn = churn
        self.env = env
        self.every = every
        self.samples: list[dict[str, Any]] = []
        self.phase = "churn"
        self.stopped = threading.Event()
        self.base = f"http://127.0.0.1:{env['SOAK_PORT']}"

    def sqlite_files(self) -> int | None:
        """Files of the SQLite database the server holds open (3 a connection: the database, its
        write-ahead log and its shared-memory index)."""
        if "SQLITE_PATH" not in self.env:
            return None
        return sum(1 for f in self.process.open_files() if f.path.startswith(self.env["SQLITE_PATH"]))

    def database_connections(self) -> float | None:
        if "DATABASE_URL" in self.env:
            import psycopg

            with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as connection:
                row = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
            return float(row[0]) if row else None
        return None

    def redis_memory(self) -> float | None:
        if "REDIS_URL" not in self.env:
            return None
        import redis

        client = redis.Redis.from_url(self.env["REDIS_URL"])
        try:
            return float(client.info("memory")["used_memory"]) / 2**20
        finally:
            client.close()

    def sample(self) -> dict[str, Any]:
        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as http:
            for path in ("/healthz", "/healthz/ready", "/metrics"):  # a load balancer's and a scraper's
                http.get(path)
        heap = anon = 0
        for mapping in self.process.memory_maps():
            if mapping.path == "[heap]":
                heap += mapping.rss
            elif mapping.path in ("", "[anon]"):
                anon += mapping.rss
        full = self.process.memory_full_info()
        return {
            "t": round(time.time(), 1),
            "phase": self.phase,
            "conversations": self.churn.completed,
            "rss_mb": round(full.rss / 2**20, 2),
            "uss_mb": round(full.uss / 2**20, 2),
            "heap_mb": round(heap / 2**20, 2),
            "anon_mb": round(anon / 2**20, 2),
            "open_files": self.process.num_fds(),
            "threads": self.process.num_threads(),
            "db_connections": self.database_connections(),
            "sqlite_files": self.sqlite_files(),
            "redis_mb": self.redis_memory(),
        }

    def census(self) -> None:
        """With SOAK_DIAGNOSE, asks the server for a census of its memory (bench/soak_diagnose.py)
        and waits until it is written (a traced one takes a while)."""
        folder = os.environ.get("SOAK_DIAGNOSE")
        if not folder:
            return
        taken = len(list(Path(folder).glob("census-*.json")))
        with (Path(folder) / "conversations.txt").open("a") as out:  # each census's count
            out.write(f"{self.churn.completed}\n")
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.time() + 300
        while len(list(Path(folder).glob("census-*.json"))) == taken and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(0.5)  # the file is written: let it be closed

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            if self.phase == "churn" and self.next_census and self.churn.completed >= self.next_census:
                self.next_census = self.churn.completed + self.census_every if self.census_every else 0
                self.census()
            try:
                self.samples.append(self.sample())
            except Exception as exc:
                self.churn.errors[f"sample:{exc.__class__.__name__}"] += 1


def metric_total(base: str, name: str) -> float:
    """The sum of a metric's samples, as the server's /metrics gives them now."""
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
    return sum(float(value) for value in re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M))


async def drive(env: dict[str, str], cookies: list[str], config: dict[str, Any], pid: int) -> dict[str, Any]:
    base = f"http://127.0.0.1:{env['SOAK_PORT']}"
    run = Run(argparse.Namespace(url=[f"ws://127.0.0.1:{env['SOAK_PORT']}"], origin=base))
    churn = Churn(run, config)
    churn.consoles = [await churn.console(n, cookie) for n, cookie in enumerate(cookies[:-1])]
    churn.supervisor = await churn.console(len(cookies), cookies[-1])
    sampler = Sampler(pid, churn, env, config["sample"], config["warmup"])
    sampler.samples.append(sampler.sample())
    sampler.start()
    churn.stop_at = time.time() + config["duration"]
    numbers = itertools.count()
    await asyncio.gather(*(churn.worker(numbers) for _ in range(config["concurrency"])))
    churn_ended = time.time()
    sampler.phase = "idle"
    await asyncio.to_thread(sampler.census)
    await asyncio.sleep(config["idle"])
    sampler.stopped.set()
    sampler.join()
    await asyncio.to_thread(sampler.census)
    received = await asyncio.to_thread(metric_total, base, "chat_frames_received_total")
    still_open = await asyncio.to_thread(metric_total, base, "chat_conversations")
    for console in [*churn.consoles, churn.supervisor]:
        await console.client.ws.close()
    return {
        **churn.tally(),
        "churn_seconds": round(churn_ended - (churn.stop_at - config["duration"]), 1),
        "frames_received_by_server": received,
        "conversations_open_at_end": still_open,
        "samples": sampler.samples,
    }


def prepare(config: dict[str, Any], tmp: str) -> tuple[dict[str, str], list[str], str]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = server_env(origin)
    env.update(
        {
            "SOAK_PORT": str(port),
            "METRICS_TOKEN": TOKEN,
            "HEALTH_READY_CACHE_SECONDS": "0",
            "VISITOR_GRACE_SECONDS": "2",
        }
    )
    database = ""
    if config["profile"] == "scaled":
        database = f"soak_{uuid.uuid4().hex[:8]}"
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)  # noqa: S603, S607
        env.update({"DATABASE_URL": f"{PG}/{database}", "REDIS_URL": REDIS, "CHANNEL_PREFIX": f"soak-{database}"})
        env["CELERY_TASK_ALWAYS_EAGER"] = "1"  # no worker runs here; none is needed by a chat
    else:
        env["SQLITE_PATH"] = f"{tmp}/soak.sqlite3"
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo_setup")
    prepared = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.prepare", "--advisors", str(config["advisors"] + 1), "--capacity", "1000"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    cookies = json.loads(prepared.stdout.strip().splitlines()[-1])
    supervisor = f"bench-advisor-{config['advisors']}"
    manage(
        env,
        "shell",
        "-c",
        f"from agents.models import StaffProfile; StaffProfile.objects.filter(user__username={supervisor!r})"
        ".update(role='supervisor')",
    )
    return env, cookies, database


def main() -> None:
    config = settings_from_env()
    if config["profile"] not in ("embedded", "scaled"):
        raise SystemExit(f"SOAK_PROFILE is embedded or scaled, not {config['profile']!r}")
    RESULTS.mkdir(exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="soak-")
    env, cookies, database = prepare(config, tmp)
    log, port = Path(tmp) / "server.log", int(env["SOAK_PORT"])
    if os.environ.get("SOAK_DIAGNOSE"):  # the product's launcher, with censuses of its memory
        command = [sys.executable, "-m", "bench.soak_diagnose", "-b", HOST, "-p", str(port)]
        server = spawn("soak", command, env=env, log=log, port=port)
    else:
        server = daphne("soak", env=env, port=port, log=log, wait=False)
    try:
        deadline = time.time() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{env['SOAK_PORT']}/healthz", timeout=1).status_code == 200:
                    break
            if time.time() > deadline or not server.alive():
                raise SystemExit("daphne did not start")
            time.sleep(0.2)
        raw = asyncio.run(drive(env, cookies, config, server.pid))
    finally:
        stop([server], database)
    result = {
        "config": config,
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
        **raw,
        "summary": summarise(raw["samples"], warmup=config["warmup"]),
    }
    out = RESULTS / f"soak-{config['profile']}.json"
    out.write_text(json.dumps(result, indent=1))
    print(report(result))  # noqa: T201
    print(f"wrote {out}")  # noqa: T201


if __name__ == "__main__":
    main()
