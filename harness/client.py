"""Protocol v1 (docs/protocol.md) over a real websocket, for tests and benchmarks.

`open_socket` opens a socket as the widget and the console do (the page's origin, the staff
session cookie, no compression, no proxy); `Client` speaks the protocol on it: a request goes out
with an id of its own and `request` returns the reply with that id; every other frame goes to the
owner's `on_message`, and so does a reply nobody waits for. A reply that carries the sender's own
entry gives that entry to `on_message` first, as the widget and the console read it. The owner
keeps whatever state it needs (what it sent, what it saw, when): the load generator counts and
times, the failure-injection clients resend and resume, the tests check order.

Tests of the consumers in process use tests/support/ws.py (the ASGI application through
Channels' communicator), and tests that need frames no client library would send use
tests/support/rawws.py."""

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

__all__ = ["Client", "Closed", "Refused", "open_socket"]

Message = dict[str, Any]


class Closed(ConnectionError):
    """The socket closed before the reply came; `code` is its close code, if one came."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"socket closed ({code})")
        self.code = code


class Refused(Exception):
    """A request answered with `ok: false`; `code` is the reply's error code."""

    def __init__(self, what: str, reply: Message) -> None:
        super().__init__(f"{what}: {reply}")
        self.reply = reply
        self.code = str((reply.get("error") or {}).get("code"))


async def open_socket(
    url: str,
    *,
    origin: str,
    cookie: str | None = None,
    open_timeout: float = 20.0,
    close_timeout: float = 10.0,
    ping: bool = False,
) -> ClientConnection:
    """`url` is ws://host:port/ws/visitor/ or /ws/console/. With `ping`, keepalive pings every
    half second notice a dead network within about two; without, the client never pings."""
    return await connect(
        url,
        origin=Origin(origin),
        additional_headers=[("Cookie", cookie)] if cookie else None,
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        ping_interval=0.5 if ping else None,
        ping_timeout=1.0 if ping else None,
        max_queue=None,  # the reader keeps up or the figures show it; the library never drops
        proxy=None,
        compression=None,
    )


class Client:
    """Protocol v1 on one open socket, until it closes (a reconnection is a new Client).

    `on_raw`, when given, sees each text frame before it is parsed and returns True when it has
    dealt with it (the load generator reads a queue snapshot's length without parsing it).
    `frames` counts the frames received by type."""

    def __init__(
        self,
        ws: ClientConnection,
        on_message: Callable[[Message], None] | None = None,
        *,
        name: str = "q",
        timeout: float = 30.0,
        frames: Counter[str] | None = None,
        on_raw: Callable[[str], bool] | None = None,
        ids: Iterator[int] | None = None,
    ) -> None:
        self.ws = ws
        self.on_message = on_message or (lambda message: None)
        self.name = name
        self.timeout = timeout
        self.frames = frames if frames is not None else Counter()
        self.on_raw = on_raw
        self.pending: dict[str, asyncio.Future[Message]] = {}
        self.closed = asyncio.Event()
        self._ids = ids if ids is not None else itertools.count(1)  # shared: ids unique across reconnections
        self.reader = asyncio.create_task(self._read())

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    def next_id(self) -> str:
        return f"{self.name}{next(self._ids)}"

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                if isinstance(raw, str) and self.on_raw is not None and self.on_raw(raw):
                    continue
                message: Message = json.loads(raw)
                self.frames[str(message.get("type"))] += 1
                self.receive(message)
        except ConnectionClosed:
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(Closed(self.ws.close_code))
            self.closed.set()

    def receive(self, message: Message) -> None:
        if message.get("type") == "reply":
            result = message.get("result")
            if message.get("ok") and isinstance(result, dict) and "entry" in result:
                self.on_message(result["entry"])  # its own message, as the clients read it
            future = self.pending.pop(message.get("id") or "", None)
            if future is not None:
                if not future.done():
                    future.set_result(message)
                return
        self.on_message(message)

    async def send(self, message: Message) -> None:
        await self.ws.send(json.dumps(message))

    async def request(self, type_: str, **fields: Any) -> Message:
        """The reply to a request; Closed if the socket closes first, TimeoutError after the
        client's `timeout` seconds."""
        request_id = self.next_id()
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        try:
            await self.send({"type": type_, "id": request_id, **fields})
            return await asyncio.wait_for(future, self.timeout)
        finally:
            self.pending.pop(request_id, None)

    async def ok(self, type_: str, **fields: Any) -> Message:
        """The result of a request that must succeed; Refused otherwise."""
        reply = await self.request(type_, **fields)
        if not reply["ok"]:
            raise Refused(f"{self.name} {type_}", reply)
        result: Message = reply["result"]
        return result

    async def close(self) -> None:
        await self.ws.close()
        await self.closed.wait()
