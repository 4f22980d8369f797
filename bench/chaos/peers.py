# Polling loops here are bounded by deadlines and watch other processes, not events of our own.
# ruff: noqa: ASYNC109, ASYNC110
"""Protocol v1 clients that survive faults: they keep each message until the server answers it,
send it again with the same client_msg_id after an error or a reconnection, resume with their
last sequence number, and ask for a sync when they see a gap."""

import asyncio
import contextlib
import itertools
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.chaos.stack import ORIGIN, TRIAGE
from harness.client import Client, open_socket

TIMEOUT = 10.0  # for any one reply


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
        self.client: Client | None = None
        self.ready = asyncio.Event()
        self.stopped = False
        self.token: str | None = None
        self.conversations: set[str] = set()
        self.last_seq: dict[str, int] = defaultdict(int)
        self.unacked: dict[str, dict[str, Any]] = {}  # client_msg_id -> frame
        self.sent_at: dict[str, float] = {}  # client_msg_id -> last send
        self.request_msg: dict[str, str] = {}  # request id -> client_msg_id
        self.entries: list[dict[str, Any]] = []
        self.queued: asyncio.Event = asyncio.Event()
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[Any]] = []

    # connection -----------------------------------------------------------------------------

    async def _open(self) -> None:
        url = f"ws://127.0.0.1:{self.ports[0]}{self.path}"
        self.ws = await open_socket(
            url, origin=ORIGIN, cookie=self.cookie, open_timeout=5, close_timeout=1, ping=self.ping
        )
        self.client = Client(self.ws, self._handle, name=f"{self.name}-", timeout=TIMEOUT, ids=self._ids)
        self._tasks.append(self.client.reader)

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

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        now = time.time()
        if kind == "reply":  # to a message sent without waiting (the client gave its entry first)
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
        assert self.client is not None
        return await self.client.request(type_, **fields)

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
        if frame is None or self.client is None:
            return
        request_id = self.client.next_id()
        self.request_msg[request_id] = client_msg_id
        self.sent_at[client_msg_id] = time.time()
        with contextlib.suppress(ConnectionClosed):
            await self.client.send({**frame, "id": request_id})

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
