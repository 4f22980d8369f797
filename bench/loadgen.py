"""Load generator: asyncio websocket clients speaking protocol v1 (and the bare relay).

chat mode: N visitors go through hello, start and triage; M advisors come on shift through the
same ramp and take them with queue.take_next, each only when the queue they see holds more chats
than advisors are already taking (as people watching one queue would; not all of them at every
update); then both sides send a message every MIN..MAX seconds (with a typing event first) until
the end. Each message carries its send time, so the receiver measures delivery latency; every
message id is counted on arrival, so losses and duplicates show: after the end the clients wait
(up to --drain seconds) for what is still on its way, so a message late under overload counts as
late, by its latency, and only one that never arrives as lost. Latencies of messages sent once
every conversation has started (the ramp plus --settle seconds) are also kept apart, as
"<kind>_steady".
relay mode: N pairs of sockets on the bare relay, same rhythm; relay-write mode: the same on the
relay that writes each frame to the database before broadcasting it (bench/relay.py).

Split runs: with --side visitors and --side consoles, two processes share one run (the same
--start-at), one holding the visitors' sockets (in relay mode the first socket of each pair), the
other the consoles' (the second); `bench.run` starts both and `merge` joins what they report. A
console process reads a queue snapshot on every console at each change of the queue; in one
process with the visitors, the visitors' frames waited behind those bursts, and the handoff
measured that wait as if it were the server's. At the end each side writes the keys it sent to
the --exchange directory and waits for the other's before draining.
idle mode: N visitor sockets open (and say hello) within the ramp, then stay open and silent for
the duration, so the runner can read the server's memory with that many idle sockets; connection
errors and the time until the last socket was greeted show whether a burst of arrivals is absorbed.
Writes one JSON document of raw figures to the --output file (stdout without one); the two
sides of a split run each write their part, and `merge` joins them (`bench.run`). A file, not a
pipe: a large run's figures once could not be read back from the pipe past its 64 KiB mark.
"""

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import uvloop
from websockets.asyncio.client import ClientConnection

from config.server import settle_garbage_collector
from harness.client import Client
from harness.client import open_socket as harness_open_socket


async def wait_until(condition: Callable[[], bool], give_up: float, every: float) -> None:
    """Check `condition` every `every` seconds until it holds or the clock passes `give_up`."""
    for _ in range(max(0, math.ceil((give_up - time.time()) / every))):
        if condition():
            return
        await asyncio.sleep(every)


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.deadline = 0.0
        self.steady_from = 0.0
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.sent: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.take_sent: dict[str, float] = {}
        self.assigned_at: dict[str, float] = {}
        # When the server wrote the `assigned` entry (its created_at), splitting a handoff into
        # the part before the write and the part from the write to the visitor's socket.
        self.assigned_written: dict[str, float] = {}
        self.takes: list[float] = []  # when each take was asked for
        self.position_changes: list[float] = []  # when a queued visitor saw its position change
        self.connected = 0
        self.connect_seconds: list[float] = []
        self.done_messaging = 0
        # What the consoles last showed of the queue, and how many advisors are taking from it:
        # an advisor takes a chat only when the queue shows more waiting than are being taken,
        # as people looking at the same queue would (not all at once at each update).
        self.queue_length = 0
        self.taking = 0
        self.queue_seen = asyncio.Event()
        # Set once every message sent has arrived after the end, or --drain seconds after it.
        self.drained = asyncio.Event()
        self.drain_seconds = 0.0
        self.sending = 0  # sender loops (one a socket or a conversation) not finished yet
        # Steady deliveries by the second they arrived in: how many, and the slowest.
        self.timeline: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])
        # Frames received, by socket kind and frame type: what the server sends, and how much.
        self.frames: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def queue_update(self, length: int) -> None:
        self.queue_length = length
        self.queue_seen.set()
        self.queue_seen = asyncio.Event()

    async def turn_to_take(self) -> None:
        while self.queue_length - self.taking <= 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue_seen.wait(), timeout=2.0)
            if time.time() > self.deadline:
                return

    def delivered(self, kind: str, sent_at: float, now: float) -> None:
        self.latency[kind].append(now - sent_at)
        if sent_at >= self.steady_from:  # sent once every conversation had started
            self.latency[f"{kind}_steady"].append(now - sent_at)
            second = self.timeline[int(now - self.steady_from)]
            second[0] += 1
            second[1] = max(second[1], now - sent_at)

    async def watch_own_loop(self) -> None:
        """How late this process's own event loop wakes a 10 ms sleep: every latency measured
        here includes that delay, so a load generator that cannot keep up shows as such."""
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            self.latency["loadgen_loop_lag"].append(max(0.0, time.perf_counter() - asked - 0.01))

    async def watch_drain(self) -> None:
        """After the end, wait for what is still on its way: a message that arrives late is
        late (its latency says how late), and only one that never arrives is lost. A side of a
        split run waits for what the other side sent, once it has said what that was."""
        await asyncio.sleep(max(0.0, self.deadline - time.time()))
        ended = time.time()
        give_up = ended + self.args.drain
        await wait_until(lambda: not self.sending, give_up, 0.05)  # a last send may await its reply
        expected: Any = self.sent
        if self.args.side != "both":
            expected = await self.exchange_sent(give_up)
        await wait_until(lambda: all(self.received[key] for key in expected), give_up, 0.25)
        await asyncio.sleep(1.0)  # a duplicate would follow soon after
        self.drain_seconds = time.time() - ended
        self.drained.set()

    async def exchange_sent(self, give_up: float) -> list[str]:
        """Write the keys this side sent, and read the other side's (empty if it never says)."""
        folder = Path(self.args.exchange)
        mine = folder / f"sent-{self.args.side}.json"
        draft = mine.with_suffix(".tmp")
        draft.write_text(json.dumps(sorted(self.sent)))
        draft.rename(mine)  # whole or absent for the reader
        other = folder / f"sent-{'consoles' if self.args.side == 'visitors' else 'visitors'}.json"
        await wait_until(other.exists, give_up, 0.1)
        return list(json.loads(other.read_text())) if other.exists() else []

    def url(self, n: int, path: str) -> str:
        bases = self.args.url
        return f"{bases[n % len(bases)]}{path}"

    def interval(self) -> float:
        return random.uniform(self.args.min_interval, self.args.max_interval)  # noqa: S311

    async def rhythm(self, prefix: str) -> AsyncGenerator[str, None]:
        """A message key each MIN..MAX seconds until the end; a sender until it is closed."""
        self.sending += 1
        try:
            for count in itertools.count(1):
                if time.time() + self.args.max_interval >= self.deadline:
                    return
                await asyncio.sleep(self.interval())
                yield f"{prefix}.{count}"
        finally:
            self.sending -= 1


QUEUE_FRAME = '{"type":"queue",'


def queue_length(raw: str) -> int:
    """The length of a queue snapshot's frame, without parsing its entries. The server writes
    frames compact, in its schema's order; `"length":` cannot occur unescaped inside a string."""
    start = raw.index('"length":') + len('"length":')
    end = start
    while raw[end].isdigit():
        end += 1
    return int(raw[start:end])


def fast_queue(frames: Counter[str], on_event: Callable[[dict[str, Any]], None]) -> Callable[[str], bool]:
    """A console's reading of queue snapshots: the length alone, not the entries."""

    def read(raw: str) -> bool:
        if not raw.startswith(QUEUE_FRAME):
            return False
        # Every console reads each queue snapshot, all of them in this one process, at the
        # moment visitors' `assigned` entries are on their way: parsing each snapshot's entries
        # on each console held those entries up. A real console is a browser of its own; here
        # only the length is read (it comes before the entries).
        frames["queue"] += 1
        on_event({"type": "queue", "length": queue_length(raw)})
        return True

    return read


async def open_socket(run: Run, n: int, path: str, cookie: str | None = None) -> ClientConnection:
    started = time.perf_counter()
    ws = await harness_open_socket(run.url(n, path), origin=run.args.origin, cookie=cookie)
    run.connect_seconds.append(time.perf_counter() - started)
    run.connected += 1
    return ws


async def visitor(run: Run, n: int) -> None:
    state: dict[str, Any] = {"position": None}
    assigned = asyncio.Event()

    def on_event(message: dict[str, Any]) -> None:
        now = time.time()
        kind = message.get("type")
        if kind == "entry":
            if message.get("event") == "assigned":
                run.assigned_at[message["conversation_id"]] = now
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    written = datetime.fromisoformat(message["created_at"]).timestamp()
                    run.assigned_written[message["conversation_id"]] = written
                assigned.set()
            elif message.get("sender_kind") == "advisor" and message.get("text", "").startswith("a|"):
                _, key, sent_at = message["text"].split("|")
                run.received[key] += 1
                run.delivered("advisor_to_visitor", float(sent_at), now)
        elif kind == "status" and message.get("state") == "queued":
            if state["position"] is not None and message.get("position") != state["position"]:
                run.position_changes.append(now)
            state["position"] = message.get("position")

    try:
        ws = await open_socket(run, n, "/ws/visitor/")
    except Exception as exc:
        run.errors[f"visitor_connect:{exc.__class__.__name__}"] += 1
        return
    client = Client(ws, on_event, frames=run.frames["visitor"])
    try:
        await client.request("hello")
        await client.request("conversation.start")
        await client.request(
            "triage.submit", answers={"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "help": []}
        )
        try:
            await asyncio.wait_for(assigned.wait(), timeout=max(0.1, run.deadline - time.time()))
        except TimeoutError:
            run.errors["visitor:never_assigned"] += 1
            return
        async with contextlib.aclosing(run.rhythm(f"v{n}")) as keys:
            async for key in keys:
                if run.args.typing:
                    await client.send({"type": "typing", "active": True})
                reply = await client.request("message.send", client_msg_id=key, text=f"v|{key}|{time.time()}")
                if reply.get("ok"):
                    run.sent[key] += 1
                else:
                    run.errors[f"visitor_send:{reply['error']['code']}"] += 1
        # Listen until the advisor has stopped too and what was sent has arrived.
        await run.drained.wait()
    except Exception as exc:
        run.errors[f"visitor:{exc.__class__.__name__}"] += 1
    finally:
        await ws.close()


async def advisor(run: Run, n: int, cookie: str, share: int) -> None:
    def on_event(message: dict[str, Any]) -> None:
        if message.get("type") == "queue":
            run.queue_update(int(message.get("length") or 0))
        elif message.get("type") == "entry" and message.get("sender_kind") == "visitor":
            text = message.get("text", "")
            if text.startswith("v|"):
                _, key, sent_at = text.split("|")
                run.received[key] += 1
                run.delivered("visitor_to_advisor", float(sent_at), time.time())

    try:
        ws = await open_socket(run, n, "/ws/console/", cookie)
    except Exception as exc:
        run.errors[f"advisor_connect:{exc.__class__.__name__}"] += 1
        return
    frames = run.frames["console"]
    client = Client(ws, on_event, frames=frames, on_raw=fast_queue(frames, on_event))
    talkers = []
    try:
        await client.request("hello")
        await client.request("availability.set", availability="on_shift")
        taken = 0
        while taken < share and time.time() < run.deadline:
            await run.turn_to_take()
            sent_at = time.time()
            run.takes.append(sent_at)
            run.taking += 1
            try:
                reply = await client.request("queue.take_next")
            finally:
                run.taking -= 1
            if reply.get("ok"):
                run.queue_length = max(0, run.queue_length - 1)
                conversation = reply["result"]["conversation"]["conversation_id"]
                run.take_sent[conversation] = sent_at
                taken += 1
                talkers.append(asyncio.create_task(talk(run, client, conversation)))
            else:
                run.queue_length = 0  # until the next update says otherwise
        await asyncio.gather(*talkers)
        # Listen until the visitors have stopped too and what was sent has arrived.
        await run.drained.wait()
    except Exception as exc:
        run.errors[f"advisor:{exc.__class__.__name__}"] += 1
    finally:
        await ws.close()


async def talk(run: Run, client: Client, conversation: str) -> None:
    async with contextlib.aclosing(run.rhythm(f"a{conversation[:8]}")) as keys:
        async for key in keys:
            if run.args.typing:
                await client.send({"type": "typing", "conversation_id": conversation, "active": True})
            reply = await client.request(
                "message.send", conversation_id=conversation, client_msg_id=key, text=f"a|{key}|{time.time()}"
            )
            if reply.get("ok"):
                run.sent[key] += 1
            else:
                run.errors[f"advisor_send:{reply['error']['code']}"] += 1


RELAY_PATHS = {"relay": "/ws/bench-relay/", "relay-write": "/ws/bench-relay-write/"}


async def relay_socket(run: Run, n: int, side: int) -> None:
    """One socket of relay pair n: it writes on the chat's rhythm and reads what the other
    socket of the pair writes."""
    try:
        ws = await open_socket(run, n * 2 + side, RELAY_PATHS[run.args.mode])
    except Exception as exc:
        run.errors[f"relay_connect:{exc.__class__.__name__}"] += 1
        return
    try:
        await ws.send(json.dumps({"join": f"pair{n}"}))
        json.loads(await ws.recv())

        async def reader() -> None:
            async for raw in ws:
                body = json.loads(raw)["body"]
                _, key, sent_at = body.split("|")
                run.received[key] += 1
                run.delivered("relay", float(sent_at), time.time())

        reading = asyncio.create_task(reader())
        async with contextlib.aclosing(run.rhythm(f"r{n}.{side}")) as keys:
            async for key in keys:
                await ws.send(json.dumps({"body": f"r|{key}|{time.time()}"}))
                run.sent[key] += 1
        await run.drained.wait()
        reading.cancel()
    except Exception as exc:
        run.errors[f"relay:{exc.__class__.__name__}"] += 1
    finally:
        await ws.close()


async def idle_visitor(run: Run, n: int, greeted: list[float], *, relay: bool) -> None:
    try:
        ws = await open_socket(run, n, "/ws/bench-relay/" if relay else "/ws/visitor/")
    except Exception as exc:
        run.errors[f"visitor_connect:{exc.__class__.__name__}"] += 1
        return
    client = Client(ws)
    try:
        if relay:  # the baseline: a bare Channels consumer in a group of its own
            await ws.send(json.dumps({"join": f"idle{n}"}))
        else:
            reply = await client.request("hello")
            if not reply.get("ok"):
                run.errors[f"hello:{reply['error']['code']}"] += 1
                return
        greeted.append(time.time())
        await asyncio.sleep(max(0.0, run.deadline - time.time()))
    except Exception as exc:
        run.errors[f"idle:{exc.__class__.__name__}"] += 1
    finally:
        await ws.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    run = Run(args)
    begin = args.start_at or time.time()
    await asyncio.sleep(max(0.0, begin - time.time()))  # the other side starts at the same moment
    run.deadline = begin + args.ramp + args.duration
    run.steady_from = begin + args.ramp + args.settle
    started = time.time()
    tasks = []
    drain = asyncio.create_task(run.watch_drain())
    own_loop = asyncio.create_task(run.watch_own_loop())
    visitors, consoles = args.side in ("both", "visitors"), args.side in ("both", "consoles")
    if args.mode == "chat":
        cookies = json.loads(args.cookies)
        share = -(-args.conversations // len(cookies))
        # Advisors come on shift through the ramp as visitors arrive, a little ahead of them.
        per_advisor = max(1, args.conversations // len(cookies))
        for n in range(args.conversations):
            if consoles and n % per_advisor == 0 and n // per_advisor < len(cookies):
                tasks.append(asyncio.create_task(advisor(run, n // per_advisor, cookies[n // per_advisor], share)))
            if visitors:
                tasks.append(asyncio.create_task(visitor(run, n)))
            await asyncio.sleep(max(0.0, begin + args.ramp * (n + 1) / args.conversations - time.time()))
        for n in range(args.conversations // per_advisor, len(cookies) if consoles else 0):
            tasks.append(asyncio.create_task(advisor(run, n, cookies[n], share)))
    elif args.mode in ("idle", "idle-relay"):
        greeted: list[float] = []
        for n in range(args.conversations):
            tasks.append(asyncio.create_task(idle_visitor(run, n, greeted, relay=args.mode == "idle-relay")))
            await asyncio.sleep(args.ramp / max(1, args.conversations))
        await asyncio.gather(*tasks)
        all_greeted = (max(greeted) - started) if len(greeted) == args.conversations else None
        return {
            "mode": args.mode,
            "sockets": run.connected,
            "greeted": len(greeted),
            "all_greeted_after_s": round(all_greeted, 2) if all_greeted is not None else None,
            "errors": dict(run.errors),
            "connect_seconds": run.connect_seconds,
            "latency": {},
            "messages_received": 0,
        }
    else:
        for n in range(args.conversations):
            for side in (0,) * visitors + (1,) * consoles:
                tasks.append(asyncio.create_task(relay_socket(run, n, side)))
            await asyncio.sleep(max(0.0, begin + args.ramp * (n + 1) / args.conversations - time.time()))
    await asyncio.gather(*tasks)
    drain.cancel()
    own_loop.cancel()
    part = {
        "mode": args.mode,
        "side": args.side,
        "conversations": args.conversations,
        "sockets": run.connected,
        "elapsed": time.time() - started,
        "sent": dict(run.sent),
        "received": dict(run.received),
        "take_sent": run.take_sent,
        "assigned_at": run.assigned_at,
        "assigned_written": run.assigned_written,
        "takes": run.takes,
        "position_changes": run.position_changes,
        "drain_seconds": round(run.drain_seconds, 1),
        "loadgen_cpu_s": round(time.process_time(), 1),
        "errors": dict(run.errors),
        "connect_seconds": run.connect_seconds,
        "latency": run.latency,
        "timeline": {str(t): value for t, value in run.timeline.items()},
        "frames_received": {kind: dict(counts) for kind, counts in run.frames.items()},
        "steady_from": round(run.steady_from, 3),
    }
    return merge([part]) if args.side == "both" else part


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of a run from what its sides report: a message sent on one side is received
    on the other, a take is asked for on the consoles' side and seen on the visitors'."""
    sent: Counter[str] = Counter()
    received: Counter[str] = Counter()
    latency: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    take_sent: dict[str, float] = {}
    assigned_at: dict[str, float] = {}
    assigned_written: dict[str, float] = {}
    timeline: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])
    takes: list[float] = []
    frames: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for part in parts:
        for kind, counts in part.get("frames_received", {}).items():
            frames[kind].update(counts)
        sent.update(part["sent"])
        received.update(part["received"])
        errors.update(part["errors"])
        take_sent.update(part["take_sent"])
        assigned_at.update(part["assigned_at"])
        assigned_written.update(part["assigned_written"])
        takes.extend(part["takes"])
        for kind, values in part["latency"].items():
            latency[kind].extend(values)
        for second, (count, worst) in part["timeline"].items():
            timeline[int(second)][0] += count
            timeline[int(second)][1] = max(timeline[int(second)][1], worst)
    takes.sort()
    for part in parts:  # from the take before it: what a visitor waiting in line sees of a take
        for seen in part["position_changes"]:
            before = bisect.bisect_right(takes, seen)
            if before:
                latency["queue_position_update"].append(seen - takes[before - 1])
    # Each handoff by when it was asked for (seconds after the first take), in ms: the whole of
    # it and the part until the server wrote the entry; shows which phase of the run the slow
    # ones fall in.
    handoff_timeline: list[list[float | None]] = []
    first_take = takes[0] if takes else 0.0
    for conversation, taken in sorted(take_sent.items(), key=lambda item: item[1]):
        if conversation not in assigned_at:
            continue
        latency["handoff"].append(assigned_at[conversation] - taken)
        written = assigned_written.get(conversation)
        if written is not None:
            latency["handoff_until_written"].append(written - taken)
            latency["handoff_written_to_seen"].append(assigned_at[conversation] - written)
        handoff_timeline.append(
            [
                round(taken - first_take, 2),
                round((assigned_at[conversation] - taken) * 1000, 1),
                None if written is None else round((written - taken) * 1000, 1),
            ]
        )
    lost_keys = sorted(key for key in sent if received[key] == 0)
    return {
        "mode": parts[0]["mode"],
        "conversations": parts[0]["conversations"],
        "client_processes": len(parts),
        "sockets": sum(part["sockets"] for part in parts),
        "elapsed": max(part["elapsed"] for part in parts),
        "messages_sent": sum(sent.values()),
        "messages_received": sum(received.values()),
        "lost": len(lost_keys),
        "duplicated": sum(1 for n in received.values() if n > 1),
        "lost_sample": lost_keys[:20],
        "drain_seconds": max(part["drain_seconds"] for part in parts),
        "loadgen_cpu_s": round(sum(part["loadgen_cpu_s"] for part in parts), 1),
        "loadgen_cpu_s_each": [part["loadgen_cpu_s"] for part in parts],
        "errors": dict(errors),
        "connect_seconds": [s for part in parts for s in part["connect_seconds"]],
        "latency": latency,
        "steady_timeline": [[t, n, round(worst * 1000, 1)] for t, (n, worst) in sorted(timeline.items())],
        "handoff_timeline": handoff_timeline,
        "frames_received": {kind: dict(counts.most_common()) for kind, counts in frames.items()},
        # The wall-clock second the timeline counts from, to line it up with a server's logs.
        "steady_from": parts[0]["steady_from"],
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["chat", "relay", "relay-write", "idle", "idle-relay"], default="chat")
    parser.add_argument("--url", action="append", required=True, help="ws://host:port (repeat for several)")
    parser.add_argument("--origin", required=True)
    parser.add_argument("--cookies", default="[]", help="JSON list of staff session cookies")
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--ramp", type=float, default=10)
    parser.add_argument("--min-interval", type=float, default=5)
    parser.add_argument("--max-interval", type=float, default=15)
    parser.add_argument(
        "--drain", type=float, default=30, help="at most this many seconds after the end for what is on its way"
    )
    parser.add_argument(
        "--settle", type=float, default=15, help="seconds after the ramp before the steady-state window opens"
    )
    parser.add_argument(
        "--side",
        choices=["both", "visitors", "consoles"],
        default="both",
        help="the sockets this process holds (chat and relay modes); a split run is two processes",
    )
    parser.add_argument(
        "--typing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="chat mode: a typing event before each message (--no-typing: messages alone)",
    )
    parser.add_argument("--exchange", help="a directory the two sides of a split run share")
    parser.add_argument("--output", type=Path, help="write the figures to this file (default: stdout)")
    parser.add_argument("--start-at", type=float, default=0.0, help="wall-clock time the ramp starts (both sides)")
    args = parser.parse_args()
    if args.side != "both" and not args.exchange:
        parser.error("--side visitors or consoles needs --exchange (the other side's directory)")
    return args


if __name__ == "__main__":
    # The clients get the servers' event loop and collector settings (config/server.py): every
    # figure includes this process's own delays (`loadgen_loop_lag`), which are not the server's;
    # on asyncio's loop with CPython's collector that lag was as large as what it measured.
    settle_garbage_collector()
    arguments = parse()
    figures = json.dumps(uvloop.run(main(arguments)))
    if arguments.output:  # whole or not at all: the runner reads it once this process has ended
        partial = arguments.output.with_suffix(".partial")
        partial.write_text(figures)
        partial.replace(arguments.output)
    else:
        print(figures)  # noqa: T201
