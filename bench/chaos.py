# Polling loops here are bounded by deadlines and watch other processes, not events of our own.
# ruff: noqa: ASYNC109, ASYNC110
"""`make chaos`: failure injection on the scaled profile, with real processes.

Each scenario gets its own PostgreSQL database (copied from a migrated template) and its own
redis-server on a free port - never the shared Redis - plus real daphne processes (and Celery
workers for the export). Protocol v1 clients chat at a steady rhythm, the fault is injected, and
the chat goes on. A client does what the widget and the console do: it keeps each message until
the server answers it and sends it again with the same client_msg_id after an error or a
reconnection, resumes with its last sequence number, and asks for a sync when it sees a gap.

A scenario passes only when, counted against the database: nothing acknowledged or stored is
missing at its recipient (lost), no message reached a client twice or was stored twice
(duplicated), every message of a client still there was acknowledged, and every chat carried
messages both ways after the fault (recovered). Recovery time is from the fault to the first
delivery of a message first sent after it.

Results go to bench-results/chaos.json; the exit status is non-zero if any scenario failed.
Only 127.0.0.1 is contacted; every wait is bounded; processes and databases are removed at the
end, even on failure. `CHAOS_SCENARIOS=a,c` runs some of them (names or letters).
"""

import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench-results"
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
ORIGIN = "http://chaos.test"
TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "help": []}
ADVISORS = 4  # sessions prepared in the template; a scenario uses two or three
TIMEOUT = 10.0  # for any one reply
DAPHNE = [sys.executable, "-m", "config.server", "-b", "127.0.0.1"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)  # polling, bounded by the deadline
    raise RuntimeError(f"{what} not listening on {port} after {timeout}s")


def pg(database: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(f"{PG}/{database}", autocommit=True, connect_timeout=5)


def drop_database(name: str) -> None:
    with pg() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Processes -----------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} (exit {self.process.poll()}) ---\n{self.log_text()[-chars:]}"


class Template:
    """A migrated database with the queues and advisors' verified console sessions; each scenario
    gets a copy (sessions live in the database, so the cookies hold in every copy)."""

    def __init__(self) -> None:
        self.name = f"chaos_tpl_{uuid.uuid4().hex[:8]}"
        self.cookies: list[str] = []

    def create(self) -> None:
        with pg() as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        env = base_env()
        env["DATABASE_URL"] = f"{PG}/{self.name}"
        for args in (["manage.py", "migrate", "--noinput", "-v", "0"], ["manage.py", "demo_setup"]):
            run_python(env, *args)
        out = run_python(env, "-m", "bench.prepare", "--advisors", str(ADVISORS), "--capacity", "10")
        self.cookies = json.loads(out.strip().splitlines()[-1])

    def drop(self) -> None:
        drop_database(self.name)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DB_NAME")}
    env.update(
        {
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "WIDGET_ALLOWED_ORIGINS": ORIGIN,
            "CONSOLE_ALLOWED_ORIGINS": ORIGIN,
            "CHAT_RATE_PER_SECOND": "1000",
            "CHAT_RATE_BURST": "1000",
            "VISITOR_GRACE_SECONDS": "600",
            "ADVISOR_GRACE_SECONDS": "600",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run_python(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


class Stack:
    """One scenario's servers: a database copied from the template, a private redis-server and
    whatever daphne and Celery processes the scenario starts. `close()` removes them all."""

    def __init__(self, template: Template, name: str, **env: str) -> None:
        self.template = template
        self.database = f"chaos_{name}_{uuid.uuid4().hex[:6]}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"chaos-{name}-"))
        self.redis_port = free_port()
        self.redis: Proc | None = None
        self.procs: list[Proc] = []
        self.env = base_env()
        self.env.update(
            {
                "DATABASE_URL": f"{PG}/{self.database}",
                "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "CHANNEL_PREFIX": f"chaos-{name}",
                "CELERY_QUEUE": f"chaos-{name}",
                **env,
            }
        )

    def open(self) -> "Stack":
        with pg() as admin:
            admin.execute(f'CREATE DATABASE "{self.database}" TEMPLATE "{self.template.name}"')
        self.start_redis()
        return self

    def start_redis(self) -> None:
        log = self.tmp / "redis.log"
        with log.open("ab") as out:
            process = subprocess.Popen(  # noqa: S603
                [  # noqa: S607 - whichever redis-server is installed
                    "redis-server",
                    "--port",
                    str(self.redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.redis = Proc("redis", process, log, self.redis_port)
        wait_port(self.redis_port, process, "redis-server")

    def daphne(self, count: int, **env: str) -> list[Proc]:
        batch = []
        for _ in range(count):
            port = free_port()
            name = f"daphne-{len([p for p in self.procs if p.name.startswith('daphne')]) + 1}"
            batch.append(
                self._spawn(
                    name,
                    [*DAPHNE, "-p", str(port)],
                    env,
                    port,
                )
            )
        for proc in batch:
            wait_port(proc.port, proc.process, proc.name)
        return batch

    def celery_worker(self, name: str, **env: str) -> Proc:
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
        command += ["-Q", self.env["CELERY_QUEUE"], "-n", f"{name}@chaos", "--loglevel", "INFO", "--without-gossip"]
        return self._spawn(name, [*command, "--without-mingle", "--without-heartbeat"], env)

    def _spawn(self, name: str, command: list[str], env: dict[str, str], port: int = 0) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603
                command,
                cwd=ROOT,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        proc = Proc(name, process, log, port)
        self.procs.append(proc)
        return proc

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with pg(self.database) as conn:
            cursor = conn.execute(query, params)
            return list(cursor.fetchall()) if cursor.description else []

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.procs)

    def close(self) -> None:
        # A polite stop first; daphne may take its application close timeout (10 s) to go.
        for proc in self.procs:
            if proc.process.poll() is None:
                proc.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 2
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.process.wait(timeout=max(0.01, deadline - time.monotonic()))
            with contextlib.suppress(Exception):
                proc.kill()
        if self.redis is not None:
            self.redis.kill()
        with contextlib.suppress(Exception):
            drop_database(self.database)


@contextlib.contextmanager
def stack(template: Template, name: str, **env: str) -> Iterator[Stack]:
    servers = Stack(template, name, **env)
    try:
        yield servers.open()
    finally:
        servers.close()


# --- A TCP proxy that can lose the network ----------------------------------------------------------


class Proxy:
    """Forwards 127.0.0.1:port to a daphne. `cut()` makes every open connection a black hole (bytes
    either way are dropped, nobody is told) and refuses new ones; `restore()` forwards new
    connections again, and `reap()` later resets the stale ones, as a server finds out late."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.down = False
        self.links: list[dict[str, Any]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> "Proxy":
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        link = {"dead": False, "writers": (writer, up_writer)}
        self.links.append(link)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    if not link["dead"]:
                        sink.write(data)
                        await sink.drain()
            if not link["dead"]:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.down = True
        for link in self.links:
            link["dead"] = True

    def restore(self) -> None:
        self.down = False

    def reap(self) -> int:
        stale = [link for link in self.links if link["dead"]]
        for link in stale:
            for writer in link["writers"]:
                writer.transport.abort()
            self.links.remove(link)
        return len(stale)

    async def close(self) -> None:
        for link in self.links:
            for writer in link["writers"]:
                writer.transport.abort()
        if self.server is not None:
            self.server.close()


# --- Protocol v1 clients that survive faults ----------------------------------------------------------


class Tally:
    """What every client sent and received, for lost / duplicated / recovery figures."""

    def __init__(self) -> None:
        self.first_sent: dict[str, float] = {}  # client_msg_id -> first send
        self.acked: dict[str, float] = {}
        self.received: dict[str, Counter[str]] = defaultdict(Counter)  # peer -> client_msg_id -> count
        self.first_received: dict[str, float] = {}
        self.chat_of: dict[str, str] = {}  # client_msg_id -> chat key
        self.errors: Counter[str] = Counter()
        self.reconnects: Counter[str] = Counter()


class Peer:
    """One socket's owner, across reconnections: remembers the last seq per conversation, keeps
    each message until it is answered, and sends it again (same client_msg_id) after an error,
    a silence or a reconnection."""

    def __init__(self, tally: Tally, name: str, path: str, ports: list[int], cookie: str | None = None) -> None:
        self.tally = tally
        self.name = name
        self.path = path
        self.ports = list(ports)
        self.cookie = cookie
        self.staff = cookie is not None
        self.ping = False  # fast keepalive pings: notice a dead network within seconds
        self.ws: ClientConnection | None = None
        self.ready = asyncio.Event()
        self.stopped = False
        self.token: str | None = None
        self.conversations: set[str] = set()
        self.last_seq: dict[str, int] = defaultdict(int)
        self.unacked: dict[str, dict[str, Any]] = {}  # client_msg_id -> frame
        self.sent_at: dict[str, float] = {}  # client_msg_id -> last send
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.request_msg: dict[str, str] = {}  # request id -> client_msg_id
        self.entries: list[dict[str, Any]] = []
        self.queued: asyncio.Event = asyncio.Event()
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[Any]] = []

    # connection -----------------------------------------------------------------------------

    async def _open(self) -> None:
        port = self.ports[0]
        self.ws = await connect(
            f"ws://127.0.0.1:{port}{self.path}",
            origin=Origin(ORIGIN),
            additional_headers={"Cookie": self.cookie} if self.cookie else None,
            open_timeout=5,
            close_timeout=1,
            ping_interval=0.5 if self.ping else None,
            ping_timeout=1.0 if self.ping else None,
            max_queue=None,
            proxy=None,
            compression=None,
        )
        self._tasks.append(asyncio.create_task(self._read(self.ws)))

    async def start(self) -> dict[str, Any]:
        """First connection: hello (a visitor gets its token)."""
        await self._open()
        hello = await self.request("hello")
        if not self.staff:
            self.token = hello["result"]["token"]
        self.ready.set()
        self._tasks.append(asyncio.create_task(self._keep_connected()))
        self._tasks.append(asyncio.create_task(self._resend_forever()))
        return hello

    async def _resume(self) -> None:
        await self._open()
        if self.staff:
            reply = await self.request("hello", last_seq={c: self.last_seq[c] for c in self.conversations})
        else:
            reply = await self.request("hello", token=self.token, last_seq=max(self.last_seq.values(), default=0))
        if not reply["ok"]:
            raise RuntimeError(f"{self.name}: hello refused {reply}")
        self.tally.reconnects[self.name] += 1
        self.ready.set()
        for client_msg_id in list(self.unacked):
            await self._send_message(client_msg_id)

    async def _keep_connected(self) -> None:
        while not self.stopped:
            if self.ws is not None:
                with contextlib.suppress(Exception):
                    await self.ws.wait_closed()
            self.ready.clear()
            if self.stopped:
                return
            while not self.stopped:
                try:
                    await self._resume()
                    break
                except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError, RuntimeError) as exc:
                    self.tally.errors[f"{self.name}:reconnect:{exc.__class__.__name__}"] += 1
                    if self.ws is not None:
                        await self._abort()
                    self.ports.append(self.ports.pop(0))  # try the next process
                    await asyncio.sleep(0.2)

    async def _abort(self) -> None:
        if self.ws is not None:
            self.ws.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.wait_closed(), 2)

    async def vanish(self) -> None:
        """The client is gone for good, without a close frame (a reset connection)."""
        self.stopped = True
        self.ready.clear()
        await self._abort()

    async def stop(self) -> None:
        self.stopped = True
        for task in self._tasks:
            task.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)

    # frames ---------------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                self._handle(json.loads(raw))

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        now = time.time()
        if kind == "reply":
            if message.get("ok") and "entry" in (message.get("result") or {}):
                self._handle(message["result"]["entry"])  # its own message, as the clients read it
            future = self.replies.pop(message.get("id") or "", None)
            if future is not None and not future.done():
                future.set_result(message)
            client_msg_id = self.request_msg.pop(message.get("id") or "", None)
            if client_msg_id is None:
                return
            if message["ok"]:
                self.tally.acked.setdefault(client_msg_id, now)
                self.unacked.pop(client_msg_id, None)
            else:
                self.tally.errors[f"{self.name}:send:{message['error']['code']}"] += 1
                self.sent_at[client_msg_id] = 0.0  # send again at the next look
        elif kind == "entry":
            conversation = message["conversation_id"]
            seq = message["seq"]
            if seq > self.last_seq[conversation] + 1 and self.ws is not None:
                self.tally.errors[f"{self.name}:gap"] += 1
                self._tasks.append(asyncio.create_task(self.sync(conversation)))
            self.last_seq[conversation] = max(self.last_seq[conversation], seq)
            self.entries.append(message)
            mine = "advisor" if self.staff else "visitor"
            client_msg_id = message.get("client_msg_id")
            if message.get("kind") == "text" and client_msg_id and message.get("sender_kind") != mine:
                self.tally.received[self.name][client_msg_id] += 1
                self.tally.first_received.setdefault(client_msg_id, now)
        elif kind == "status" and message.get("state") == "queued":
            self.queued.set()

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        request_id = f"{self.name}-q{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[request_id] = future
        assert self.ws is not None
        await self.ws.send(json.dumps({"type": type_, "id": request_id, **fields}))
        try:
            return await asyncio.wait_for(future, TIMEOUT)
        finally:
            self.replies.pop(request_id, None)

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request(type_, **fields)
        if not reply["ok"]:
            raise RuntimeError(f"{self.name} {type_}: {reply}")
        result: dict[str, Any] = reply["result"]
        return result

    async def sync(self, conversation: str) -> None:
        with contextlib.suppress(Exception):
            if self.staff:
                await self.request("sync", conversation_id=conversation, last_seq=self.last_seq[conversation])
            else:
                await self.request("sync", last_seq=self.last_seq[conversation])

    async def say(self, chat: str, conversation: str, client_msg_id: str) -> None:
        frame: dict[str, Any] = {"type": "message.send", "client_msg_id": client_msg_id}
        if self.staff:
            frame["conversation_id"] = conversation
        frame["text"] = f"{self.name} {client_msg_id}"
        self.unacked[client_msg_id] = frame
        self.tally.first_sent[client_msg_id] = time.time()
        self.tally.chat_of[client_msg_id] = chat
        if self.ready.is_set():
            await self._send_message(client_msg_id)

    async def _send_message(self, client_msg_id: str) -> None:
        frame = self.unacked.get(client_msg_id)
        if frame is None or self.ws is None:
            return
        request_id = f"{self.name}-m{next(self._ids)}"
        self.request_msg[request_id] = client_msg_id
        self.sent_at[client_msg_id] = time.time()
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps({**frame, "id": request_id}))

    async def _resend_forever(self) -> None:
        """An answer that does not come within a few seconds (or an error) means: send again."""
        while not self.stopped:
            await asyncio.sleep(0.3)
            if not self.ready.is_set():
                continue
            now = time.time()
            for client_msg_id in list(self.unacked):
                if now - self.sent_at.get(client_msg_id, 0.0) > 3.0:
                    await self._send_message(client_msg_id)


@dataclass
class Chat:
    key: str
    visitor: Peer
    advisor: Peer
    conversation: str = ""
    counter: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))


class Run:
    """The chats of one scenario."""

    def __init__(self, tally: Tally, fast_ping: frozenset[str] = frozenset()) -> None:
        self.tally = tally
        self.fast_ping = fast_ping
        self.chats: list[Chat] = []
        self.peers: list[Peer] = []
        self.fault_at = 0.0
        self.fault_end = 0.0
        self.talking = True
        self.affected: set[str] = set()  # chats the fault reached (all when left empty)

    def peer(self, name: str, path: str, ports: list[int], cookie: str | None = None) -> Peer:
        peer = Peer(self.tally, name, path, ports, cookie)
        peer.ping = name in self.fast_ping
        self.peers.append(peer)
        return peer

    async def open_chat(self, key: str, visitor: Peer, advisor: Peer) -> Chat:
        await visitor.start()
        conversation = (await visitor.ok("conversation.start"))["conversation_id"]
        await visitor.ok("triage.submit", answers=TRIAGE)
        await advisor.ok("conversation.accept", conversation_id=conversation)
        advisor.conversations.add(conversation)
        visitor.conversations.add(conversation)
        chat = Chat(key, visitor, advisor, conversation)
        self.chats.append(chat)
        return chat

    async def talk(self, chat: Chat, *, interval: tuple[float, float] = (0.15, 0.35)) -> None:
        async def side(which: str) -> None:
            while self.talking:
                await asyncio.sleep(random.uniform(*interval))  # noqa: S311
                peer = chat.visitor if which == "v" else chat.advisor
                if not self.talking or peer.stopped:
                    continue
                await peer.say(chat.key, chat.conversation, f"{chat.key}-{which}{next(chat.counter)}")

        await asyncio.gather(side("v"), side("a"))

    async def settle(self, timeout: float = 30.0) -> None:
        """After the talking stops: every live client's messages answered, then a last sync."""
        deadline = time.monotonic() + timeout
        live = [p for p in self.peers if not p.stopped]
        while time.monotonic() < deadline and any(p.unacked for p in live):
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        for peer in live:
            if peer.ready.is_set():
                for conversation in peer.conversations:
                    await peer.sync(conversation)
        await asyncio.sleep(1.0)

    async def close(self) -> None:
        for peer in self.peers:
            await peer.stop()


def figures(servers: Stack, run: Run, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Lost / duplicated / recovered, counted against the database."""
    tally = run.tally
    stored = Counter(
        row[0]
        for row in servers.sql(
            "SELECT client_msg_id FROM chat_message WHERE kind = 'text' AND client_msg_id IS NOT NULL"
        )
    )
    # Who must have every message: the visitor for the advisors' messages; for the visitor's,
    # whoever holds the chat at the end (their console replays the whole log).
    lost: list[str] = []
    delivered: list[str] = []
    for client_msg_id in set(stored) | set(tally.acked):
        chat = next(c for c in run.chats if c.key == tally.chat_of.get(client_msg_id, client_msg_id.rsplit("-", 1)[0]))
        recipient = chat.advisor.name if client_msg_id.rsplit("-", 1)[1].startswith("v") else chat.visitor.name
        if client_msg_id not in stored or tally.received[recipient][client_msg_id] == 0:
            lost.append(client_msg_id)
        else:
            delivered.append(client_msg_id)
    duplicated = sorted(
        {i for counts in tally.received.values() for i, n in counts.items() if n > 1}
        | {i for i, n in stored.items() if n > 1}
    )
    unanswered = sorted(i for p in run.peers if not p.stopped for i in p.unacked)
    abandoned = sorted(i for p in run.peers if p.stopped for i in p.unacked if i not in stored)
    recovery: dict[str, float | None] = {}
    recovered_both_ways: dict[str, bool] = {}
    affected = [c for c in run.chats if not run.affected or c.key in run.affected]
    for chat in affected:
        after = [
            (tally.first_received[i] - run.fault_at, i)
            for i, sent in tally.first_sent.items()
            if tally.chat_of[i] == chat.key and sent >= run.fault_at and i in tally.first_received
        ]
        recovery[chat.key] = round(min(after)[0] * 1000) if after else None
        directions = {i.rsplit("-", 1)[1][0] for _, i in after}
        recovered_both_ways[chat.key] = directions == {"v", "a"}
    times = [t for t in recovery.values() if t is not None]
    result = {
        "chats": len(run.chats),
        "chats_hit_by_the_fault": len(affected),
        "messages_sent": len(tally.first_sent),
        "messages_acknowledged": len(tally.acked),
        "messages_stored": sum(stored.values()),
        "messages_delivered": len(delivered),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "unanswered": len(unanswered),
        "abandoned_unsent": len(abandoned),
        "chats_recovered": sum(recovered_both_ways.values()),
        # From the fault to the first delivery of a message first sent after it, per chat hit.
        "recovery_ms": {
            "first": min(times) if times else None,
            "median": round(statistics.median(times)) if times else None,
            "worst": max(times) if len(times) == len(affected) else None,
        },
        "fault_ms": round((run.fault_end - run.fault_at) * 1000) if run.fault_end else 0,
        "reconnects": sum(tally.reconnects.values()),
        "client_errors": dict(tally.errors),
        "examples": {"lost": sorted(lost)[:5], "duplicated": duplicated[:5], "unanswered": unanswered[:5]},
        **(extra or {}),
    }
    failures = []
    if lost:
        failures.append(f"{len(lost)} lost")
    if duplicated:
        failures.append(f"{len(duplicated)} duplicated")
    if unanswered:
        failures.append(f"{len(unanswered)} never answered")
    if result["chats_recovered"] != len(affected):
        failures.append(f"{len(affected) - result['chats_recovered']} chats did not recover")
    result["failures"] = failures
    result["passed"] = not result["failures"]
    return result


async def chatting(servers: "Stack", template: "Template", **kwargs: Any) -> dict[str, Any]:
    """`_chatting`, with the servers' logs attached to whatever makes it fail."""
    try:
        return await _chatting(servers, template, **kwargs)
    except BaseException as exc:
        raise RuntimeError(f"{exc!r}\n{servers.logs()}") from exc


async def _chatting(
    servers: Stack,
    template: Template,
    *,
    chats: int,
    visitor_ports: Callable[[int], list[int]],
    advisor_ports: Callable[[int], list[int]],
    advisors: int,
    fault: Callable[[Run], Awaitable[dict[str, Any] | None]],
    before: float = 2.0,
    after: float = 5.0,
    prepare: Callable[[Run], Awaitable[None]] | None = None,
    fast_ping: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Opens the chats, talks for `before` seconds, injects the fault, talks `after` seconds more
    once the fault is over, settles and counts."""
    tally = Tally()
    run = Run(tally, fast_ping)
    extra: dict[str, Any] = {}
    try:
        consoles = [
            run.peer(f"advisor{n}", "/ws/console/", advisor_ports(n), template.cookies[n]) for n in range(advisors)
        ]
        for console in consoles:
            await console.start()
            await console.ok("availability.set", availability="on_shift")
        for n in range(chats):
            visitor = run.peer(f"visitor{n}", "/ws/visitor/", visitor_ports(n))
            await run.open_chat(f"c{n}", visitor, consoles[n % len(consoles)])
        if prepare is not None:
            await prepare(run)
        talking = [asyncio.create_task(run.talk(chat)) for chat in run.chats]
        await asyncio.sleep(before)
        run.fault_at = time.time()
        extra = (await fault(run)) or {}
        run.fault_end = time.time()
        await asyncio.sleep(after)
        run.talking = False
        await asyncio.wait_for(asyncio.gather(*talking), 5)
        await run.settle()
        return figures(servers, run, extra)
    finally:
        await run.close()


# --- Scenarios -----------------------------------------------------------------------------------


async def scenario_daphne_killed(template: Template) -> dict[str, Any]:
    """(a) SIGKILL one of two daphne processes mid-chat; its clients reconnect to the other."""
    with stack(template, "kill") as servers:
        a, b = servers.daphne(2)

        async def fault(run: Run) -> dict[str, Any]:
            doomed = {p.name for p in run.peers if p.ports[0] == a.port}
            run.affected = {c.key for c in run.chats if {c.visitor.name, c.advisor.name} & doomed}
            in_flight = sum(len(p.unacked) for p in run.peers if p.name in doomed)
            a.kill()
            return {"sockets_on_killed_process": len(doomed), "unanswered_at_kill": in_flight}

        return await chatting(
            servers,
            template,
            chats=6,
            advisors=2,
            visitor_ports=lambda n: [a.port, b.port] if n % 2 == 0 else [b.port, a.port],
            advisor_ports=lambda n: [b.port, a.port] if n % 2 == 0 else [a.port, b.port],
            fault=fault,
        )


def heartbeat_keys(servers: Stack) -> int:
    """How many daphne processes have their presence heartbeat in the (private) Redis."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=servers.redis_port, socket_timeout=2)
    try:
        return len(client.keys("*chat:process:*"))
    finally:
        client.close()


async def scenario_redis_restarted(template: Template, down: float = 11.0) -> dict[str, Any]:
    """(b) The private Redis killed and started again on the same port mid-chat: the channel layer
    loses what was published meanwhile; the database and the clients' seq numbers make it good.
    Down for 11 s, so that it spans a presence heartbeat (every 10 s) of each process; the
    heartbeats must come back too, or their visitors would later be taken for gone."""
    with stack(template, "redis") as servers:
        a, b = servers.daphne(2)

        async def fault(run: Run) -> dict[str, Any]:
            assert servers.redis is not None
            servers.redis.kill()
            await asyncio.sleep(down)
            await asyncio.to_thread(servers.start_redis)
            return {"redis_down_ms": round((time.time() - run.fault_at) * 1000)}

        result = await chatting(
            servers,
            template,
            chats=6,
            advisors=2,
            visitor_ports=lambda n: [a.port if n % 2 else b.port],
            advisor_ports=lambda n: [b.port if n % 2 else a.port],
            fault=fault,
        )
        # The heartbeat is written every 10 s; allow two rounds.
        deadline = time.monotonic() + 25
        while heartbeat_keys(servers) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        result["process_heartbeats_back"] = heartbeat_keys(servers)
        if result["process_heartbeats_back"] < 2:
            result["failures"].append("a daphne process stopped writing its presence heartbeat")
            result["passed"] = False
        return result


async def scenario_database_dropped(template: Template, chats: int = 6, after: float = 5.0) -> dict[str, Any]:
    """(c) Every connection to the chaos database terminated mid-chat (pg_terminate_backend from a
    separate connection); the pool replaces them and nothing acknowledged is lost."""
    with stack(template, "db") as servers:
        a, b = servers.daphne(2)

        async def fault(run: Run) -> dict[str, Any]:
            rows = await asyncio.to_thread(
                servers.sql,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (servers.database,),
            )
            await asyncio.sleep(0.5)
            again = await asyncio.to_thread(
                servers.sql,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (servers.database,),
            )
            return {"backends_terminated": rows[0][0] + again[0][0]}

        result = await chatting(
            servers,
            template,
            chats=chats,
            advisors=2,
            visitor_ports=lambda n: [a.port if n % 2 else b.port],
            advisor_ports=lambda n: [b.port if n % 2 else a.port],
            fault=fault,
            after=after,
        )
        result["server_processes_alive"] = sum(1 for p in (a, b) if p.process.poll() is None)
        if result["server_processes_alive"] != 2:
            result["failures"].append("a daphne process died")
            result["passed"] = False
        return result


async def scenario_network_cut(template: Template, chats: int = 4, after: float = 5.0) -> dict[str, Any]:
    """(d) A visitor's and an advisor's network cut for 3 s and restored: their TCP connections
    go silent (no close frame, no reset); the clients notice by keepalive, reconnect once the
    network is back, and only then does the server learn that the old sockets are gone."""
    with stack(template, "net") as servers:
        (server,) = servers.daphne(1)
        visitor_proxy = await Proxy(server.port).start()
        advisor_proxy = await Proxy(server.port).start()
        proxies = [visitor_proxy, advisor_proxy]
        cut_peers = frozenset({"visitor0", "advisor0"})

        async def fault(run: Run) -> dict[str, Any]:
            run.affected = {c.key for c in run.chats if {c.visitor.name, c.advisor.name} & cut_peers}
            for proxy in proxies:
                proxy.cut()
            await asyncio.sleep(3.0)
            for proxy in proxies:
                proxy.restore()
            # The server finds out about the dead sockets only after the clients are back.
            deadline = time.monotonic() + 15
            cut = [p for p in run.peers if p.name in cut_peers]
            while time.monotonic() < deadline and not all(run.tally.reconnects[p.name] for p in cut):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            reaped = sum(proxy.reap() for proxy in proxies)
            return {"clients_cut": sorted(cut_peers), "network_down_ms": 3000, "stale_connections_reset": reaped}

        try:
            result = await chatting(
                servers,
                template,
                chats=chats,
                advisors=2,
                visitor_ports=lambda n: [visitor_proxy.port if n == 0 else server.port],
                advisor_ports=lambda n: [advisor_proxy.port if n == 0 else server.port],
                fault=fault,
                fast_ping=cut_peers,
                after=after,
            )
        finally:
            for proxy in proxies:
                await proxy.close()
        states = servers.sql("SELECT state, count(*) FROM chat_conversation GROUP BY state")
        result["conversation_states"] = dict(states)
        if dict(states) != {"active": chats}:
            result["failures"].append(f"chats not all active with their advisor: {dict(states)}")
            result["passed"] = False
        return result


async def scenario_advisor_gone(
    template: Template, grace: float = 3.0, chats: int = 4, after: float = 3.0
) -> dict[str, Any]:
    """(e) An advisor's connection resets and they do not come back: after ADVISOR_GRACE_SECONDS
    their chats go back to the head of the queue, another advisor takes them, and the visitors
    (who kept writing) lose nothing either way."""
    with stack(template, "grace") as servers:
        (server,) = servers.daphne(1, ADVISOR_GRACE_SECONDS=str(grace))
        spare: list[Peer] = []

        async def prepare(run: Run) -> None:
            # The one who will take over is signed in but not yet on shift, so the chats are
            # placed with advisor0 and advisor1 only.
            relief = run.peer("advisor2", "/ws/console/", [server.port], template.cookies[2])
            await relief.start()
            spare.append(relief)

        async def fault(run: Run) -> dict[str, Any]:
            gone = next(p for p in run.peers if p.name == "advisor0")
            relief = spare[0]
            mine = [c for c in run.chats if c.advisor is gone]
            run.affected = {c.key for c in mine}
            await gone.vanish()
            await relief.ok("availability.set", availability="on_shift")
            taken: list[float] = []
            deadline = time.monotonic() + grace + 20
            while len(taken) < len(mine) and time.monotonic() < deadline:
                reply = await relief.request("queue.take_next")
                if not reply["ok"]:
                    await asyncio.sleep(0.2)
                    continue
                conversation = reply["result"]["conversation"]["conversation_id"]
                chat = next(c for c in run.chats if c.conversation == conversation)
                relief.conversations.add(conversation)
                chat.advisor = relief
                taken.append(time.time() - run.fault_at)
            return {
                "grace_seconds": grace,
                "chats_of_gone_advisor": len(mine),
                "taken_over": len(taken),
                "requeued_and_taken_ms": [round(t * 1000) for t in taken],
            }

        result = await chatting(
            servers,
            template,
            chats=chats,
            advisors=2,
            visitor_ports=lambda n: [server.port],
            advisor_ports=lambda n: [server.port],
            fault=fault,
            prepare=prepare,
            after=after,
        )
        requeued = servers.sql(
            "SELECT count(*) FROM chat_message WHERE kind = 'event' AND event = 'requeued' AND public_seq IS NOT NULL"
        )[0][0]
        result["requeued_entries"] = requeued
        if result["taken_over"] != result["chats_of_gone_advisor"] or requeued != result["chats_of_gone_advisor"]:
            result["failures"].append("the gone advisor's chats were not all requeued and taken over")
            result["passed"] = False
        return result


PDF_SETUP = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from chat.services.visitor import conversation_start, triage_submit, visitor_create
from chat.models import Message
from risk.models import CaseConversation, CaseRecord
from risk import services as risk
user = get_user_model().objects.get(username="bench-advisor-0")
visitor, _ = visitor_create()
conversation_start(visitor_id=visitor.pk, conn_id="chaos")
conversation = triage_submit(visitor_id=visitor.pk, answers={ANSWERS})
start = conversation.last_seq
Message.objects.bulk_create(
    Message(conversation=conversation, seq=start + n, kind="text", sender_kind="visitor", client_msg_id=f"pdf-{n}",
            text=f"line {n} " + "of a long conversation " * 8)
    for n in range(1, LINES + 1)
)
conversation.last_seq = start + LINES
conversation.save(update_fields=["last_seq"])
case = CaseRecord.objects.create(owner=user)
CaseConversation.objects.create(case=case, conversation=conversation, linked_by=user)
print(risk.snapshot_make(user=user, case_id=case.pk, conversation_id=conversation.pk).pk)
"""

PDF_WRITES_TRIGGER = """
CREATE TABLE chaos_pdf_writes (at timestamptz DEFAULT now(), bytes int);
CREATE FUNCTION chaos_count_pdf() RETURNS trigger AS $$
BEGIN INSERT INTO chaos_pdf_writes (bytes) VALUES (length(NEW.pdf)); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER chaos_pdf AFTER UPDATE OF pdf ON risk_transcriptsnapshot
FOR EACH ROW WHEN (OLD.pdf IS DISTINCT FROM NEW.pdf) EXECUTE FUNCTION chaos_count_pdf();
"""


async def scenario_worker_killed(template: Template, visibility: float = 4.0, lines: int = 800) -> dict[str, Any]:
    """(f) A Celery worker SIGKILLed while it renders a transcript PDF. The task is acks_late, so
    the broker hands it to a second worker after the visibility timeout; the PDF is stored exactly
    once (a trigger counts the writes), and one more delivery of the task changes nothing."""
    env = {"CELERY_VISIBILITY_TIMEOUT": str(visibility)}
    with stack(template, "celery", **env) as servers:
        code = PDF_SETUP.replace("{ANSWERS}", repr(TRIAGE)).replace("LINES", str(lines))
        snapshot = run_python(servers.env, "manage.py", "shell", "--no-imports", "-c", code).strip().splitlines()[-1]
        servers.sql(PDF_WRITES_TRIGGER)
        enqueue = f"from risk.tasks import snapshot_pdf; snapshot_pdf.delay({snapshot!r})"

        def pdf_state() -> tuple[int, int]:
            rows = servers.sql(
                "SELECT coalesce(length(pdf), 0), (SELECT count(*) FROM chaos_pdf_writes) "
                "FROM risk_transcriptsnapshot WHERE id = %s",
                (snapshot,),
            )
            return int(rows[0][0]), int(rows[0][1])

        first = servers.celery_worker("worker-1")
        try:
            run_python(servers.env, "manage.py", "shell", "--no-imports", "-c", enqueue)
            deadline = time.monotonic() + 60
            while "snapshot_pdf" not in first.log_text() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if "snapshot_pdf" not in first.log_text():
                raise RuntimeError("the first worker never received the export")
            await asyncio.sleep(1.0)  # well into the render (imports and layout take seconds)
            killed_at = time.time()
            caught_mid_export = pdf_state() == (0, 0)
            first.kill()
            second = servers.celery_worker("worker-2")
            stored_at = None
            deadline = time.monotonic() + visibility + 60
            while time.monotonic() < deadline:
                if pdf_state()[0]:
                    stored_at = time.time()
                    break
                await asyncio.sleep(0.2)
            # One more delivery of the same task (a retry, a resend): it must find the PDF.
            run_python(servers.env, "manage.py", "shell", "--no-imports", "-c", enqueue)
            deadline = time.monotonic() + 30
            while second.log_text().count("succeeded") < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            size, writes = pdf_state()
            head = servers.sql(
                "SELECT substring(pdf from 1 for 5) FROM risk_transcriptsnapshot WHERE id = %s", (snapshot,)
            )
        except BaseException as exc:
            raise RuntimeError(f"{exc!r}\n{servers.logs()}") from exc
        result: dict[str, Any] = {
            "transcript_lines": lines,
            "visibility_timeout_s": visibility,
            "killed_mid_export": caught_mid_export,
            "pdf_bytes": size,
            "pdf_writes": writes,
            "is_pdf": bytes(head[0][0] or b"") == b"%PDF-",
            "second_worker_runs": second.log_text().count("succeeded"),
            "recovery_ms": round((stored_at - killed_at) * 1000) if stored_at else None,
            "messages_sent": 0,
            "lost": 0 if size else 1,
            "duplicated": max(0, writes - 1),
        }
        failures = []
        if not caught_mid_export:
            failures.append("the kill did not land during the export")
        if not size or not result["is_pdf"]:
            failures.append("the export never completed")
        if writes != 1:
            failures.append(f"the PDF was written {writes} times")
        result["failures"] = failures
        result["passed"] = not failures
        return result


SCENARIOS: dict[str, Callable[[Template], Awaitable[dict[str, Any]]]] = {
    "a-daphne-sigkill": scenario_daphne_killed,
    "b-redis-restart": scenario_redis_restarted,
    "c-database-dropped": scenario_database_dropped,
    "d-network-cut": scenario_network_cut,
    "e-advisor-past-grace": scenario_advisor_gone,
    "f-celery-worker-killed": scenario_worker_killed,
}


@contextlib.contextmanager
def template_database() -> Iterator[Template]:
    template = Template()
    try:
        template.create()
        yield template
    finally:
        with contextlib.suppress(Exception):
            template.drop()


def run_scenario(template: Template, name: str, **sizes: Any) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = asyncio.run(asyncio.wait_for(SCENARIOS[name](template, **sizes), 180))
    except Exception as exc:
        result = {"passed": False, "failures": [f"crashed: {str(exc)[:6000]}"]}
    result["scenario"] = name
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    return result


def describe(result: dict[str, Any]) -> str:
    keys = ("messages_sent", "messages_delivered", "lost", "duplicated", "recovery_ms", "chats_recovered")
    shown = {k: result[k] for k in keys if k in result}
    verdict = "PASS" if result["passed"] else "FAIL " + "; ".join(result["failures"])[:3000]
    return f"{result['scenario']}: {verdict}\n  {json.dumps(shown)}"


def main() -> int:
    chosen = [s.strip() for s in os.environ.get("CHAOS_SCENARIOS", "").split(",") if s.strip()]
    names = [n for n in SCENARIOS if not chosen or any(n == c or n.startswith(f"{c}-") for c in chosen)]
    RESULTS.mkdir(exist_ok=True)
    results = []
    with template_database() as template:
        for name in names:
            result = run_scenario(template, name)
            print(describe(result), flush=True)  # noqa: T201
            results.append(result)
    (RESULTS / "chaos.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {RESULTS / 'chaos.json'}")  # noqa: T201
    return 0 if results and all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
