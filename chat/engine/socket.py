"""What both websockets share: frame checks, rate limits, schema validation, the reply envelope,
and in-order, gap-free delivery of conversation entries.

Delivery: the channel layer is at-most-once, so each socket remembers the last sequence number
it sent per conversation. An entry at or below it is a duplicate and dropped; one past a gap
makes the socket replay the gap from the database first. Subscribing to a conversation always
ends with a catch-up from the database, which covers entries broadcast before the subscription.

Slow readers: daphne never makes `send` wait, so whatever a socket's peer does not read piles up
in the process (Twisted's write buffer) without limit; a visitor sending `sync` and never reading
grew the server with every frame it was sent. So a socket with more than OUTBOUND_LIMIT_BYTES unsent waits
before sending more, and one that stays over it for SLOW_READER_SECONDS is dropped.
"""

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from pydantic import BaseModel, TypeAdapter, ValidationError

from chat import selectors
from chat.engine import events
from chat.engine.dispatch import dispatch_events
from chat.engine.queueing import SharedFrame
from chat.engine.ratelimit import TokenBucket
from chat.errors import CloseSocket, ProtocolError
from chat.metrics import FRAMES_RECEIVED, HANDLING_SECONDS
from chat.protocol.codes import ERROR_CODES
from chat.protocol.common import ErrorBody, Pong, Reply

if TYPE_CHECKING:
    from chat.services.message import Sent

logger = logging.getLogger(__name__)

# Per socket: unsent bytes held in the process before sending waits, and how long the peer
# may leave them unread before the connection is dropped.
OUTBOUND_LIMIT_BYTES = 1024 * 1024
SLOW_READER_SECONDS = 10.0

Handler = Callable[[Any], Awaitable[dict[str, Any] | None]]

# Sweeps scheduled after disconnects; kept referenced until they finish.
_pending_sweeps: set[asyncio.Task[Any]] = set()


def schedule_sweep(delay: float, sweep: Callable[[], object]) -> None:
    """Run an idempotent sweep on the database thread once `delay` seconds have passed (the
    grace sweep after a disconnect's grace period; Celery beat runs it too in the scaled
    profile, in case this process is gone by then)."""
    loop = asyncio.get_running_loop()

    def start() -> None:
        task = loop.create_task(database_sync_to_async(sweep)())
        _pending_sweeps.add(task)
        task.add_done_callback(_pending_sweeps.discard)

    loop.call_later(delay + 0.05, start)


# NUL and unpaired surrogates (only JSON escapes can carry them) cannot be stored: PostgreSQL
# refuses NUL in text and neither database encodes a lone surrogate.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _has_unstorable(data: Any) -> bool:
    stack = [data]  # not recursive: the frame may nest as deep as json.loads allows
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _daphne_protocol(send: Any) -> Any | None:
    """daphne's websocket protocol under this socket (daphne's `send` is
    `partial(server.handle_reply, protocol)`), else None: other servers, WebsocketCommunicator."""
    # Channels' session middleware (the consoles') wraps daphne's send in a bound method.
    send = getattr(getattr(send, "__self__", None), "real_send", send)
    protocol = next(iter(getattr(send, "args", ())), None)
    return protocol if hasattr(protocol, "sendCloseFrame") and hasattr(protocol, "STATE_OPEN") else None


def _daphne_transport(protocol: Any) -> Any | None:
    """The Twisted transport under daphne's protocol, else None (as for TLS terminated by
    Twisted: a wrapper without the buffer)."""
    transport = getattr(protocol, "transport", None)
    try:
        _unsent_bytes(transport)
    except (AttributeError, TypeError):
        return None
    return transport


def _unsent_bytes(transport: Any) -> int:
    # Twisted's FileDescriptor: `dataBuffer` from `offset` on, plus writes not yet joined to it.
    return len(transport.dataBuffer) - int(transport.offset) + int(transport._tempDataLen)


class ProtocolConsumer(AsyncWebsocketConsumer):
    audience: str  # "visitor" or "staff"
    inbound: TypeAdapter[Any]
    handlers: dict[str, str]  # message type -> method name
    before_hello: tuple[str, ...] = ("hello", "ping")  # what a socket may send before `hello`
    # Class-level defaults: an instance stores these only once they change (2,000 idle sockets
    # each carrying its own copies cost memory for nothing).
    strikes = 0
    greeted = False
    closing = False
    # Shared frames (push_shared): whether this socket takes them yet, those waiting for it (the
    # latest of each key), and the task sending them.
    shared_live = False
    shared_backlog: dict[str, str] | None = None
    shared_task: "asyncio.Task[None] | None" = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """As Channels' AsyncConsumer, with the event loop of chat/engine/dispatch.py in place of
        `await_many_dispatch`."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            await dispatch_events([receive, self.channel_receive], self.dispatch)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As Channels' dispatch, without its `aclose_old_connections()` before every handler: that
        runs on the one database thread, so each frame and each layer event (a typing
        notice, an entry to deliver) waited behind all the process's database work; at 200
        conversations it was a tenth of the server's samples and held deliveries to consoles up
        for seconds. Every database call here goes through `database_sync_to_async`, which
        closes old connections itself, before and after."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        chat = settings.CHAT
        self.bucket = TokenBucket(rate=float(chat["RATE_PER_SECOND"]), burst=float(chat["RATE_BURST"]))
        # conversation id -> last sequence number sent on this socket
        self.sent: dict[UUID, int] = {}
        self.daphne_protocol = _daphne_protocol(self.base_send)
        self.twisted_transport = _daphne_transport(self.daphne_protocol)
        events.process_loop.attach()
        await self.accept()

    # --- sending ------------------------------------------------------------------------------

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send_frame(events.frame(payload))

    async def send_frame(self, text: str) -> None:
        """Send a frame already serialised with `chat.engine.events.frame`."""
        protocol = self.daphne_protocol
        if self.closing or (protocol is not None and protocol.state != protocol.STATE_OPEN):
            # Closed, or the peer's close is under way (daphne tells us a moment later):
            # autobahn raises on a send now, which would end the consumer before disconnect.
            return
        transport = self.twisted_transport
        if transport is not None and not await self._peer_reading(transport):
            return
        await self.send(text_data=text)

    async def _peer_reading(self, transport: Any) -> bool:
        """Waits while too much is unsent; False (and the connection aborted: a close frame
        would queue behind what is unread) when the peer leaves it unread too long."""
        deadline = time.monotonic() + SLOW_READER_SECONDS
        while _unsent_bytes(transport) > OUTBOUND_LIMIT_BYTES:
            if transport.disconnected:
                return False
            if time.monotonic() > deadline:
                logger.warning("%s socket: peer not reading, connection dropped", self.audience)
                self.closing = True
                transport.abortConnection()
                return False
            await asyncio.sleep(0.05)  # the reactor writes meanwhile
        return True

    def push_shared(self, frame: SharedFrame) -> None:
        """Send a frame this process sends many sockets at once, from outside this socket's own
        task. Under daphne it is written straight to the connection, framed once for all: a
        queue snapshot to 1,000 consoles as group messages woke 1,000 consumer tasks, and every
        frame read or written meanwhile (a take, the visitor's `assigned` entry) waited behind
        them. A socket that does not take it straight away (not live yet, over its outbound
        limit, not under daphne) keeps the latest of each key and sends it from a task of its
        own, in order and through `send_frame`'s slow-reader check."""
        if self.closing:
            return
        protocol, transport = self.daphne_protocol, self.twisted_transport
        if (
            self.shared_live
            and self.shared_backlog is None
            and protocol is not None
            and transport is not None
            and protocol.state == protocol.STATE_OPEN
            and _unsent_bytes(transport) <= OUTBOUND_LIMIT_BYTES
        ):
            protocol.sendPreparedMessage(frame.prepared)
            return
        if self.shared_backlog is None:
            self.shared_backlog = {}
        self.shared_backlog.pop(frame.key, None)  # the newer one goes to the end
        self.shared_backlog[frame.key] = frame.text
        if self.shared_live and self.shared_task is None:
            self.shared_task = asyncio.get_running_loop().create_task(self._send_shared())

    def take_shared(self) -> None:
        """From now on this socket takes shared frames (after what it must see first: a
        console's hello snapshots); those that came meanwhile follow."""
        self.shared_live = True
        if self.shared_backlog and self.shared_task is None:
            self.shared_task = asyncio.get_running_loop().create_task(self._send_shared())

    async def _send_shared(self) -> None:
        try:
            while self.shared_backlog:
                key = next(iter(self.shared_backlog))
                await self.send_frame(self.shared_backlog.pop(key))
        finally:
            self.shared_task = None
            if not self.shared_backlog:
                self.shared_backlog = None

    def drop_shared(self) -> None:
        self.shared_live = False
        self.shared_backlog = None
        if self.shared_task is not None:
            self.shared_task.cancel()

    async def send_model(self, model: BaseModel) -> None:
        await self.send_json(model.model_dump(mode="json"))

    async def reply_ok(self, request_id: str | None, result: dict[str, Any] | None) -> None:
        await self.send_model(Reply(id=request_id, ok=True, result=result or {}))

    async def reply_error(self, request_id: str | None, code: str, message: str | None = None) -> None:
        await self.send_model(
            Reply(id=request_id, ok=False, error=ErrorBody(code=code, message=message or ERROR_CODES[code]))
        )

    # --- receiving ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message_type, outcome = await self._handle_frame(text_data, bytes_data)
        self.count_frame(message_type, outcome)

    def count_frame(self, message_type: str | None, outcome: str) -> None:
        FRAMES_RECEIVED.labels(self.audience, message_type if message_type in self.handlers else "-", outcome).inc()

    async def _handle_frame(self, text_data: str | None, bytes_data: bytes | None) -> tuple[str | None, str]:
        """Answers one frame; its message type (None when unreadable) and outcome, for the count."""
        if self.closing:
            return None, "ignored"
        raw = text_data if text_data is not None else bytes_data
        size = len(raw.encode() if isinstance(raw, str) else (raw or b""))
        if size > int(settings.CHAT["MAX_FRAME_BYTES"]):
            await self.reply_error(None, "frame_too_large")
            await self._close(1009)
            return None, "frame_too_large"
        if not self.bucket.allow():
            self.strikes += 1
            if self.strikes >= int(settings.CHAT["FLOOD_STRIKES"]):
                await self.reply_error(None, "rate_limited", "Flood: closing the socket.")
                await self._close(4008)
            else:
                await self.reply_error(None, "rate_limited")
            return None, "rate_limited"
        if text_data is None:
            # The protocol is JSON text; a binary frame is never read as a message.
            await self.reply_error(None, "binary_frame")
            return None, "binary_frame"
        request_id = None
        try:
            data = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting fits in 64 KB
            data = None
        if not isinstance(data, dict):
            await self.reply_error(None, "bad_json")
            return None, "bad_json"
        if isinstance(data.get("id"), str) and len(data["id"]) <= 64:
            request_id = data["id"]
        # A list or object as `type` is unhashable: no dict lookup with it.
        message_type = data["type"] if isinstance(data.get("type"), str) else None
        if _has_unstorable(data):
            await self.reply_error(request_id, "invalid", "NUL and unpaired surrogate characters are not allowed.")
            return message_type, "invalid"
        if message_type not in self.handlers:
            await self.reply_error(request_id, "unknown_type", f"Unknown type {str(data.get('type'))[:40]!r}.")
            return None, "unknown_type"
        try:
            message = self.inbound.validate_python(data)
        except ValidationError as exc:
            await self.reply_error(request_id, *(error := self._validation_error(exc)))
            return message_type, error[0]
        if not self.greeted and message.type not in self.before_hello:
            await self.reply_error(request_id, "hello_required")
            return message_type, "hello_required"
        handler: Handler = getattr(self, self.handlers[message.type])
        started = time.perf_counter()
        try:
            result = await handler(message)
        except CloseSocket as exc:
            await self.reply_error(request_id, exc.code, exc.message)
            await self._close(exc.close_code)
            return message_type, exc.code
        except ProtocolError as exc:
            await self.reply_error(request_id, exc.code, exc.message)
            return message_type, exc.code
        except Exception:
            # Never log the frame: it may hold a visitor's words.
            logger.exception("%s socket: %s failed", self.audience, message.type)
            await self.reply_error(request_id, "internal_error")
            return message_type, "internal_error"
        if message.type == "ping":
            await self.send_model(Pong(id=request_id))
        elif request_id is not None and getattr(message, "id", None) is not None:
            await self.reply_ok(request_id, result)
        HANDLING_SECONDS.labels(self.audience, message.type).observe(time.perf_counter() - started)
        await self.after_reply(message)
        return message_type, "ok"

    async def after_reply(self, message: Any) -> None:
        """Work that must follow the reply on the wire (replays after hello)."""

    @staticmethod
    def _validation_error(exc: ValidationError) -> tuple[str, str]:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        if where.endswith("text") and first["type"] == "string_too_long":
            return "text_too_long", ERROR_CODES["text_too_long"]
        if first["type"] == "extra_forbidden":
            return "invalid", f"Unknown field {where!r}."
        return "invalid", f"{where}: {first['msg']}"

    async def _close(self, code: int) -> None:
        self.closing = True
        protocol = self.daphne_protocol
        if protocol is not None and code != 1000 and not 3000 <= code <= 4999:
            # Autobahn lets an application close only with 1000 or 3000-4999 and raises on
            # 1009, which daphne answers with 1011; send the frame as daphne sends its 1011.
            protocol.sendCloseFrame(code=code)
            return
        await self.close(code=code)

    # --- conversation entries -----------------------------------------------------------------

    async def check_resume_points(self, last_seq: dict[UUID, int]) -> None:
        """Refuses a `last_seq` past the end of its conversation's log: entries up to it do not
        exist, and taken at its word the socket would withhold every entry until the log
        caught up with it. Raised before anything is subscribed, so the client can say it again."""
        if not any(last_seq.values()):
            return
        ends = await database_sync_to_async(selectors.log_ends)(conversation_ids=list(last_seq), audience=self.audience)
        for conversation_id, seq in last_seq.items():
            end = ends.get(conversation_id, 0)
            if seq > end:
                raise ProtocolError(
                    "seq_ahead",
                    f"last_seq {seq} is past the end of conversation {conversation_id}'s log ({end}); "
                    f"ask again with last_seq at most {end}.",
                )

    def sent_result(self, sent: "Sent") -> dict[str, Any]:
        """The reply to this socket's own `message.send`, carrying the message's entry when it is
        the next one this socket owes: the entry's own frame (every earlier entry has gone out,
        this socket handles one event at a time, and the reply leaves next) is then dropped as
        already sent when its broadcast arrives. A chat message was six frames, the echo among
        them; now five. Otherwise the entry comes in order as its own frame, as before."""
        result = sent.result(audience=self.audience)
        conversation_id, seq = sent.message.conversation_id, int(result["seq"])
        if self.sent.get(conversation_id) == seq - 1:
            self.sent[conversation_id] = seq
            result["entry"] = selectors.entry_payload(sent.message, audience=self.audience)
        return result

    async def deliver_entry(self, entry: dict[str, Any]) -> None:
        conversation_id = UUID(entry["conversation_id"])
        last = self.sent.get(conversation_id)
        if last is None or entry["seq"] <= last:
            return
        if entry["seq"] > last + 1:
            await self.catch_up(conversation_id)
            return
        self.sent[conversation_id] = entry["seq"]
        await self.send_json(entry)

    async def catch_up(self, conversation_id: UUID) -> None:
        """Send everything after what this socket last sent, from the database, in order."""
        limit = int(settings.CHAT["REPLAY_LIMIT"])
        while conversation_id in self.sent:
            entries = await database_sync_to_async(selectors.entries_after)(
                conversation_id=conversation_id,
                after_seq=self.sent[conversation_id],
                audience=self.audience,
                limit=limit,
            )
            for entry in entries:
                if entry["seq"] > self.sent.get(conversation_id, entry["seq"]):
                    self.sent[conversation_id] = entry["seq"]
                    await self.send_json(entry)
            if len(entries) < limit:
                return

    async def chat_entry(self, event: dict[str, Any]) -> None:
        await self.deliver_entry(event["entry"])

    async def chat_amended(self, event: dict[str, Any]) -> None:
        amended = event["amended"]
        if UUID(amended["conversation_id"]) in self.sent:
            await self.send_json(amended)

    async def chat_receipt(self, event: dict[str, Any]) -> None:
        receipt = event["receipt"]
        if UUID(receipt["conversation_id"]) in self.sent:
            await self.send_json({"type": "receipt", **receipt})

    async def chat_typing(self, event: dict[str, Any]) -> None:
        typing = event["typing"]
        conversation_id = UUID(typing["conversation_id"])
        if conversation_id in self.sent and event.get("from") != self.channel_name:
            await self.send_json({"type": "typing", **typing, "seq": self.sent[conversation_id]})
