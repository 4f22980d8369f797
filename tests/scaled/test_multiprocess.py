"""Two real daphne processes sharing PostgreSQL and Redis, driven by real websocket clients.

A visitor on one process and an advisor on the other chat normally; then the visitor's process
is SIGKILLed while messages are in flight, both clients reconnect to the surviving process, and
not one message is lost or duplicated (architecture note, delivery guarantees).
"""

import asyncio
import contextlib
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed

from chat.models import Conversation, Message
from harness import servers
from harness.client import Client, Closed, open_socket
from harness.servers import Process
from tests import factories
from tests.support.ws import verified_session_cookie

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]

ORIGIN = "http://chat.multiprocess.test"
TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "language": "en", "help": ["emotional_support"]}
BATCH = 100
WINDOW = 10  # messages a client has sent and not yet had answered
TIMEOUT = 20.0  # for any one thing a client waits for


# --- daphne processes ---------------------------------------------------------------------------


def database_url_for_test_db() -> str:
    """DATABASE_URL of the run, pointed at the database pytest-django created for it."""
    url = urlparse(os.environ["DATABASE_URL"])
    return url._replace(path="/" + connection.settings_dict["NAME"]).geturl()


@pytest.fixture
def daphnes(transactional_db: None, tmp_path: Path) -> Iterator[Callable[[int], list[Process]]]:
    """Starts daphne processes on the test database; every one is killed at the end (before
    the test database is flushed)."""
    started: list[Process] = []
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_test_db(),
        "WIDGET_ALLOWED_ORIGINS": ORIGIN,
        "CONSOLE_ALLOWED_ORIGINS": ORIGIN,
        # Nobody's chat may be closed or handed back while the test runs.
        "VISITOR_GRACE_SECONDS": "600",
        "ADVISOR_GRACE_SECONDS": "600",
        # The clients here send hundreds of frames a second.
        "CHAT_RATE_PER_SECOND": "10000",
        "CHAT_RATE_BURST": "10000",
        "PYTHONUNBUFFERED": "1",
    }

    def start(count: int) -> list[Process]:
        batch = []
        for _ in range(count):
            name = chr(ord("A") + len(started))
            server = servers.daphne(f"daphne {name}", env=env, log=tmp_path / f"daphne-{name}.log", wait=False)
            started.append(server)
            batch.append(server)
        servers.wait_listening(*batch)
        return batch

    yield start
    for server in started:
        server.kill()


# --- A protocol v1 client over a real websocket ----------------------------------------------------


class Peer:
    """One side of the chat. Remembers across reconnections every entry it received (in order),
    the last sequence number it saw, and the messages it sent that were not answered yet, which
    it sends again, in order and with the same client_msg_id, after each reconnection."""

    def __init__(self, name: str, path: str, cookie: str | None = None) -> None:
        self.name = name
        self.path = path
        self.cookie = cookie
        self.client: Client | None = None
        self.ready = asyncio.Event()  # connected and greeted: new messages may go out
        self.lost = asyncio.Event()  # the current connection has ended
        self.changed = asyncio.Event()  # set at each frame and when a connection ends
        self.entries: list[dict[str, Any]] = []
        self.last_seq = 0
        self.unacked: dict[str, dict[str, Any]] = {}  # client_msg_id -> frame, in sending order
        self.acks: dict[str, dict[str, Any]] = {}  # client_msg_id -> reply result
        self.refused: list[dict[str, Any]] = []
        self.request_for: dict[str, str] = {}  # request id -> client_msg_id
        self.sends: Counter[str] = Counter()  # client_msg_id -> frames sent with it
        self._ids = itertools.count(1)

    @property
    def close_code(self) -> int | None:
        return self.client.close_code if self.client is not None else None

    async def open(self, port: int, **hello: Any) -> dict[str, Any]:
        ws = await open_socket(
            f"ws://127.0.0.1:{port}{self.path}", origin=ORIGIN, cookie=self.cookie, open_timeout=TIMEOUT
        )
        self.lost.clear()
        client = self.client = Client(ws, self._handle, name=f"{self.name}-", timeout=TIMEOUT, ids=self._ids)
        client.reader.add_done_callback(lambda _: self._ended(client))
        result = await self.ok("hello", **hello)
        for client_msg_id, frame in list(self.unacked.items()):
            await self._send_message(client_msg_id, frame)
        self.ready.set()
        return result

    def begin_drop(self) -> asyncio.Task[None]:
        """Stop sending at once and close the socket from this side, whatever is in flight."""
        self.ready.clear()
        return asyncio.create_task(self.drop())

    async def drop(self) -> None:
        self.ready.clear()
        assert self.client is not None
        await self.client.ws.close()
        await self.wait(self.lost.is_set, "the socket to close")

    def _ended(self, client: Client) -> None:
        if client is self.client:
            self.ready.clear()
            self.lost.set()
            self.changed.set()

    def _handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "entry":
            self.entries.append(message)
            self.last_seq = max(self.last_seq, message["seq"])
        elif message["type"] == "reply":  # to a message (the client gave its entry first)
            client_msg_id = self.request_for.pop(message["id"], None)
            if client_msg_id is not None and message["ok"]:
                self.acks[client_msg_id] = message["result"]
                self.unacked.pop(client_msg_id, None)
            elif client_msg_id is not None:
                self.refused.append(message)
        self.changed.set()

    async def wait(self, predicate: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
        async def holds() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(holds(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.name}: no {what} within {timeout}s; last seq {self.last_seq}, "
                f"{len(self.unacked)} unanswered, refused {self.refused[:3]}"
            ) from None

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        assert self.client is not None
        try:
            return await self.client.request(type_, **fields)
        except Closed:
            raise AssertionError(
                f"{self.name}: socket closed ({self.close_code}) before the reply to {type_}"
            ) from None
        except TimeoutError:
            raise AssertionError(f"{self.name}: no reply to {type_} within {TIMEOUT}s") from None

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request(type_, **fields)
        assert reply["ok"], f"{self.name} {type_}: {reply}"
        result: dict[str, Any] = reply["result"]
        return result

    async def _send_message(self, client_msg_id: str, frame: dict[str, Any]) -> None:
        assert self.client is not None
        request_id = self.client.next_id()
        self.unacked[client_msg_id] = frame
        self.request_for[request_id] = client_msg_id
        self.sends[client_msg_id] += 1
        # If the socket is gone the message stays unanswered, and goes again after reconnecting.
        with contextlib.suppress(ConnectionClosed):
            await self.client.send({**frame, "id": request_id, "client_msg_id": client_msg_id})

    async def send_batch(
        self, ids: list[str], frame: dict[str, Any], hooks: dict[int, Callable[[], None]] | None = None
    ) -> None:
        """Sends `ids` in order, up to WINDOW unanswered at once; calls `hooks[n]` right after
        handing the n-th to the socket."""
        for n, client_msg_id in enumerate(ids, start=1):
            await self.wait(lambda: len(self.unacked) < WINDOW, "room in the window")
            await asyncio.wait_for(self.ready.wait(), TIMEOUT)
            await self._send_message(client_msg_id, {**frame, "text": f"{self.name} says {client_msg_id}"})
            if hooks and n in hooks:
                hooks[n]()

    def texts_from(self, sender_kind: str) -> list[str]:
        return [e["client_msg_id"] for e in self.entries if e["kind"] == "text" and e["sender_kind"] == sender_kind]


def check_log(peer: Peer, conversation_id: str, other: str, other_ids: list[str]) -> None:
    """Every entry exactly once, in order, no gaps; the other side's messages all there in order."""
    seqs = [e["seq"] for e in peer.entries]
    assert seqs == list(range(1, len(seqs) + 1)), f"{peer.name}: {describe_break(seqs)}"
    assert {e["conversation_id"] for e in peer.entries} == {conversation_id}
    assert peer.texts_from(other) == other_ids, f"{peer.name} saw {Counter(peer.texts_from(other))}"


def describe_break(seqs: list[int]) -> str:
    """Where a list of sequence numbers stops being 1, 2, 3..."""
    at = next((i for i, seq in enumerate(seqs) if seq != i + 1), len(seqs))
    return f"{len(seqs)} entries; after seq {at} came {seqs[at : at + 5]} (duplicates: {len(seqs) - len(set(seqs))})"


def log_counters(conversation_id: str) -> tuple[int, int]:
    """(last_seq, last_public_seq) of the conversation, read on a thread of its own."""
    try:
        conversation = Conversation.objects.get(pk=conversation_id)
        return conversation.last_seq, conversation.last_public_seq
    finally:
        connection.close()


def ids(prefix: str, numbers: range) -> list[str]:
    return [f"{prefix}-{n}" for n in numbers]


# --- The test ------------------------------------------------------------------------------------


def test_visitor_and_advisor_on_different_processes_lose_nothing_when_one_dies(
    daphnes: Callable[[int], list[Process]],
) -> None:
    factories.queues()
    advisor_user = factories.staff()
    cookie = verified_session_cookie(advisor_user)  # a real signed-in session, past two-factor
    a, b = daphnes(2)

    async def scenario() -> dict[str, Any]:
        visitor = Peer("visitor", "/ws/visitor/")
        advisor = Peer("advisor", "/ws/console/", cookie)
        first_v, first_a = ids("v", range(BATCH)), ids("a", range(BATCH))
        second_v, second_a = ids("v", range(BATCH, 2 * BATCH)), ids("a", range(BATCH, 2 * BATCH))

        # The visitor on A, the advisor on B.
        hello = await visitor.open(a.port)
        conversation_id = (await visitor.ok("conversation.start"))["conversation_id"]
        await visitor.ok("triage.submit", answers=TRIAGE)
        await advisor.open(b.port)
        await advisor.ok("availability.set", availability="on_shift")
        accepted = await advisor.ok("conversation.accept", conversation_id=conversation_id)
        assert accepted["conversation"]["holder"]["user_id"] == advisor_user.pk
        await visitor.wait(lambda: any(e["event"] == "assigned" for e in visitor.entries), "assigned entry")
        visitor_frame = {"type": "message.send"}
        advisor_frame = {"type": "message.send", "conversation_id": conversation_id}

        # 1. Both talk at once, across the processes.
        await asyncio.gather(visitor.send_batch(first_v, visitor_frame), advisor.send_batch(first_a, advisor_frame))
        await visitor.wait(lambda: not visitor.unacked, "answers to the first batch")
        await advisor.wait(lambda: not advisor.unacked, "answers to the first batch")
        await visitor.wait(lambda: visitor.texts_from("advisor") == first_a, "first batch from the advisor")
        await advisor.wait(lambda: advisor.texts_from("visitor") == first_v, "first batch from the visitor")
        assert set(visitor.acks) == set(first_v) and set(advisor.acks) == set(first_a)
        check_log(visitor, conversation_id, "advisor", first_a)
        check_log(advisor, conversation_id, "visitor", first_v)

        # 2. A is SIGKILLed right after the visitor hands the middle message of its second batch
        #    to the socket (up to WINDOW are unanswered then); the advisor's console drops at its
        #    own halfway mark. Both come back to B, send again what was not answered, and finish.
        kill: dict[str, Any] = {}

        def kill_a() -> None:
            kill["in_flight"] = len(visitor.unacked)
            a.kill()

        dropping: list[asyncio.Task[None]] = []
        advisor_halfway = asyncio.Event()

        def drop_advisor() -> None:
            dropping.append(advisor.begin_drop())
            advisor_halfway.set()

        half = BATCH // 2
        sending = asyncio.gather(
            visitor.send_batch(second_v, visitor_frame, {half: kill_a}),
            advisor.send_batch(second_a, advisor_frame, {half: drop_advisor}),
        )
        await visitor.wait(visitor.lost.is_set, "disconnection when A dies")
        resumed = await visitor.open(b.port, token=hello["token"], last_seq=visitor.last_seq)
        assert resumed["conversation_id"] == conversation_id
        await asyncio.wait_for(advisor_halfway.wait(), TIMEOUT)
        await dropping[0]
        await advisor.open(b.port, last_seq={conversation_id: advisor.last_seq})
        await asyncio.wait_for(sending, 2 * TIMEOUT)

        everything_v, everything_a = first_v + second_v, first_a + second_a
        await visitor.wait(lambda: not visitor.unacked and len(visitor.acks) == 2 * BATCH, "answers to all")
        await advisor.wait(lambda: not advisor.unacked and len(advisor.acks) == 2 * BATCH, "answers to all")
        # Everything is written now; both sides must get to the end of the log.
        last_seq, last_public_seq = await asyncio.to_thread(log_counters, conversation_id)
        await visitor.wait(lambda: visitor.last_seq >= last_public_seq, f"entries up to {last_public_seq}")
        await advisor.wait(lambda: advisor.last_seq >= last_seq, f"entries up to {last_seq}")
        assert not visitor.refused and not advisor.refused, (visitor.refused, advisor.refused)
        check_log(visitor, conversation_id, "advisor", everything_a)
        check_log(advisor, conversation_id, "visitor", everything_v)
        assert (visitor.last_seq, advisor.last_seq) == (last_public_seq, last_seq)
        # The advisor first: the visitor leaving adds a (staff-only) entry to the log.
        for peer in (advisor, visitor):
            await peer.drop()
        return {
            "conversation_id": conversation_id,
            "visitor": visitor,
            "advisor": advisor,
            "kill": kill,
            "last_seq": last_seq,
        }

    try:
        outcome = asyncio.run(asyncio.wait_for(scenario(), 50))
    except BaseException as exc:
        raise AssertionError(f"{exc!r}\n{a.tail(4000)}\n{b.tail(4000)}") from exc

    visitor, advisor = outcome["visitor"], outcome["advisor"]
    # The kill really caught messages in flight, and some were sent twice.
    assert outcome["kill"]["in_flight"] > 0, outcome["kill"]
    assert max(visitor.sends.values()) >= 2

    # (B may still be recording the visitor's departure: nothing here depends on it.)
    conversation = Conversation.objects.get(pk=outcome["conversation_id"])
    log = list(Message.objects.filter(conversation=conversation).order_by("seq"))
    assert [m.seq for m in log] == list(range(1, len(log) + 1))
    # What the clients saw, and (after they left) nothing but staff-only events.
    stored, later = log[: outcome["last_seq"]], log[outcome["last_seq"] :]
    assert all(m.kind == Message.Kind.EVENT and m.public_seq is None for m in later), later
    texts = [m for m in log if m.kind == Message.Kind.TEXT]
    counts = Counter(str(m.client_msg_id) for m in texts)
    everything_v, everything_a = ids("v", range(2 * BATCH)), ids("a", range(2 * BATCH))
    expected = Counter(dict.fromkeys(everything_v + everything_a, 1))
    assert counts == expected, f"lost: {sorted(expected - counts)}, duplicated: {sorted(counts - expected)}"
    assert [m.client_msg_id for m in texts if m.sender_kind == "visitor"] == everything_v
    assert [m.client_msg_id for m in texts if m.sender_kind == "advisor"] == everything_a
    # What each side was told it sent is what is stored, in its own numbering.
    by_id = {m.client_msg_id: m for m in texts}
    assert {i: r["seq"] for i, r in visitor.acks.items()} == {i: by_id[i].public_seq for i in everything_v}
    assert {i: r["seq"] for i, r in advisor.acks.items()} == {i: by_id[i].seq for i in everything_a}
    # And each side saw the whole log in its own numbering, nothing more.
    assert [e["seq"] for e in advisor.entries] == [m.seq for m in stored]
    assert [e["seq"] for e in visitor.entries] == [m.public_seq for m in stored if m.public_seq is not None]
    assert conversation.last_public_seq == visitor.last_seq  # the visitor leaving adds nothing public
