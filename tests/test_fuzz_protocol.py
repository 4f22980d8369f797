"""Stateful fuzzing of protocol v1 through the real ASGI application (config.asgi).

Several visitors, each in a conversation of their own, and an advisor with a verified staff
session take random steps: the valid ones (resume, triage, accept, messages, typing, receipts,
sync, end) and garbage (random JSON, wrong types, unknown types and fields, huge and oversized
strings, binary frames, deep nesting, other conversations' ids). After every step:

- nothing raised in a consumer, no `internal_error`, no close but the documented ones;
- every refused frame got a reply with a documented error code;
- no client ever saw an entry, status or text of a conversation it is not in (each text is
  tagged with the conversation it was sent in);
- no message the server refused is in the database.
"""

import asyncio
import itertools
import json
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from asgiref.sync import sync_to_async
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from chat.models import Message
from chat.protocol.codes import ERROR_CODES
from tests import factories
from tests.support.depth import depth
from tests.support.ws import TRIAGE, ConnectionClosed, ProtocolClient, advisor_on_shift, visitor_socket

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")
_ids = itertools.count(1)
VISITORS = 3
CLOSE_CODES = {1000, 1009, 4001, 4002, 4003, 4008, 4010}
WAIT = 5.0

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
VISITOR_TYPES = ["hello", "conversation.start", "triage.flow", "directory.lookup", "triage.submit", "message.send"]
VISITOR_TYPES += ["typing", "receipt", "sync", "conversation.end", "quick_exit", "ping"]
STAFF_TYPES = ["message.send", "conversation.accept", "typing", "receipt", "sync", "conversation.end", "ping"]
STAFF_TYPES += ["transfer.offer", "supervise.monitor", "conversation.requeue", "staff.list", "availability.set"]


def deep(depth: int) -> str:
    return '{"type":"message.send","id":"deep","x":' + "[" * depth + "]" * depth + "}"


class Chat:
    def __init__(self, client: ProtocolClient, token: str, conversation_id: str) -> None:
        self.client = client
        self.token = token
        self.id = conversation_id
        self.state = "queued"
        self.last_seq = 0


class ProtocolMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self.refused: set[str] = set()  # client_msg_ids the server refused
        self.chats: list[Chat] = []
        self.advisor_user = self.run(sync_to_async(factories.staff)(capacity=VISITORS + 1, queues_=["general"]))
        self.advisor = self.run(advisor_on_shift(self.advisor_user))
        for _ in range(VISITORS):
            self.chats.append(self.run(self._queued()))

    # --- plumbing -----------------------------------------------------------------------------

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, 30))

    async def _queued(self) -> Chat:
        client = await visitor_socket().connect()
        token = (await client.ok("hello"))["token"]
        conversation_id = (await client.ok("conversation.start"))["conversation_id"]
        await client.ok("triage.submit", answers=TRIAGE)
        return Chat(client, token, conversation_id)

    def next_id(self, prefix: str) -> str:
        # Unique across examples too: the database is shared by all of them.
        return f"{prefix}{next(_ids)}"

    def tag(self, chat: Chat, who: str) -> str:
        return f"[{chat.id}] {who} {self.next_id('t')}"

    async def _reply(self, client: ProtocolClient, request_id: str | None) -> dict[str, Any] | None:
        """The answer to `request_id` (a reply, or the pong of a valid ping; with None the first
        id-less one), None if the socket closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            for index, message in enumerate(client.inbox):
                if message.get("type") in ("reply", "pong") and message.get("id") == request_id:
                    client.inbox.pop(index)
                    return message if message["type"] == "reply" else {"ok": True}
            remaining = deadline - loop.time()
            assert remaining > 0, f"no answer to {request_id} within {WAIT}s; inbox: {client.inbox[-5:]}"
            try:
                client.inbox.append(await client._receive_one(remaining))
            except TimeoutError:
                continue
            except ConnectionClosed as closed:
                assert closed.code in CLOSE_CODES, f"closed with {closed.code}"
                return None

    def check_reply(self, reply: dict[str, Any] | None) -> None:
        if reply is not None and not reply["ok"]:
            code = reply["error"]["code"]
            assert code in ERROR_CODES and code != "internal_error", reply
            assert reply["error"]["message"]

    async def _reconnect(self, chat: Chat) -> None:
        await chat.client.close()
        chat.client = await visitor_socket().connect()
        result = await chat.client.ok("hello", token=chat.token, last_seq=chat.last_seq)
        assert result["conversation_id"] in (chat.id, None)

    def ensure_open(self, chat: Chat) -> None:
        if chat.client.closed_code is not None:
            self.run(self._reconnect(chat))

    async def _request(self, client: ProtocolClient, type_: str, **fields: Any) -> dict[str, Any] | None:
        request_id = self.next_id("r")
        await client.send({"type": type_, "id": request_id, **fields})
        return await self._reply(client, request_id)

    # --- valid steps --------------------------------------------------------------------------

    @rule(index=st.integers(0, VISITORS - 1))
    def accept(self, index: int) -> None:
        chat = self.chats[index]
        reply = self.run(self._request(self.advisor, "conversation.accept", conversation_id=chat.id))
        self.check_reply(reply)
        if reply is not None and reply["ok"]:
            chat.state = "active"

    @rule(index=st.integers(0, VISITORS - 1), size=st.integers(1, 4000))
    def visitor_says(self, index: int, size: int) -> None:
        chat = self.chats[index]
        self.ensure_open(chat)
        text = self.tag(chat, "visitor").ljust(size, ".")
        client_msg_id = self.next_id("v")
        reply = self.run(self._request(chat.client, "message.send", client_msg_id=client_msg_id, text=text))
        self.check_reply(reply)
        if reply is None or not reply["ok"]:
            self.refused.add(client_msg_id)
        elif chat.state == "active":
            entry = self.run(self.advisor.expect("entry", timeout=WAIT, client_msg_id=client_msg_id))
            assert entry["conversation_id"] == chat.id

    @rule(index=st.integers(0, VISITORS - 1), kind=st.sampled_from(["text", "note", "whisper"]))
    def advisor_says(self, index: int, kind: str) -> None:
        chat = self.chats[index]
        client_msg_id = self.next_id("a")
        reply = self.run(
            self._request(
                self.advisor,
                "message.send",
                conversation_id=chat.id,
                client_msg_id=client_msg_id,
                text=self.tag(chat, "advisor"),
                kind=kind,
            )
        )
        self.check_reply(reply)
        if reply is None or not reply["ok"]:
            self.refused.add(client_msg_id)
        elif kind == "text":
            self.ensure_open(chat)
            entry = self.run(chat.client.expect("entry", timeout=WAIT, client_msg_id=client_msg_id))
            assert entry["conversation_id"] == chat.id

    @rule(index=st.integers(0, VISITORS - 1), step=st.sampled_from(["typing", "receipt", "sync", "ping", "flow"]))
    def visitor_small_talk(self, index: int, step: str) -> None:
        chat = self.chats[index]
        self.ensure_open(chat)
        options: dict[str, dict[str, Any]] = {
            "typing": {"active": True},
            "receipt": {"seq": chat.last_seq, "status": "read"},
            "sync": {"last_seq": 0},
            "ping": {},  # answered with pong, below
            "flow": {},
        }
        fields = options[step]
        if step == "ping":
            request_id = self.next_id("p")
            self.run(chat.client.send({"type": "ping", "id": request_id}))
            self.run(chat.client.expect("pong", timeout=WAIT, id=request_id))
            return
        type_ = "triage.flow" if step == "flow" else step
        self.check_reply(self.run(self._request(chat.client, type_, **fields)))

    @rule(index=st.integers(0, VISITORS - 1))
    def resume(self, index: int) -> None:
        self.run(self._reconnect(self.chats[index]))

    @rule(index=st.integers(0, VISITORS - 1), by_visitor=st.booleans())
    def end(self, index: int, by_visitor: bool) -> None:
        chat = self.chats[index]
        if by_visitor:
            self.ensure_open(chat)
            reply = self.run(self._request(chat.client, "conversation.end"))
        else:
            reply = self.run(self._request(self.advisor, "conversation.end", conversation_id=chat.id))
        self.check_reply(reply)
        if reply is not None and reply["ok"]:
            chat.state = "closed"

    # --- garbage ------------------------------------------------------------------------------

    def _garbage(self, target: int, frame: str | bytes) -> dict[str, Any] | None:
        client = self.advisor if target == VISITORS else self.chats[target].client
        if target < VISITORS:
            self.ensure_open(self.chats[target])
            client = self.chats[target].client

        async def go() -> dict[str, Any] | None:
            if isinstance(frame, bytes):
                await client.communicator.send_to(bytes_data=frame)
            else:
                await client.send_raw(frame)
            return await self._reply(client, None if _request_id(frame) is None else _request_id(frame))

        reply = self.run(go())
        self.check_reply(reply)
        if reply is not None and reply["ok"]:
            return reply  # hypothesis wrote a valid message: the valid rules' invariants cover it
        client_msg_id = _field(frame, "client_msg_id")
        if isinstance(client_msg_id, str):
            assert not self.run(_stored({client_msg_id})), "a refused frame stored a message"
        if reply is None and target == VISITORS:
            self.advisor = self.run(advisor_on_shift(self.advisor_user))
        return reply

    @rule(who=st.integers(0, VISITORS), value=json_values)
    def random_json(self, who: int, value: Any) -> None:
        self._garbage(who, json.dumps(value))

    @rule(who=st.integers(0, VISITORS), data=st.binary(min_size=1, max_size=200))
    def binary_frame(self, who: int, data: bytes) -> None:
        self._garbage(who, data)

    @rule(
        who=st.integers(0, VISITORS),
        type_=st.one_of(st.sampled_from(VISITOR_TYPES + STAFF_TYPES), st.text(max_size=30), json_values),
        fields=st.dictionaries(
            st.sampled_from(["id", "text", "client_msg_id", "conversation_id", "seq", "last_seq", "token", "kind"])
            | st.text(max_size=10),
            json_values,
            max_size=5,
        ),
    )
    def wrong_message(self, who: int, type_: Any, fields: dict[str, Any]) -> None:
        fields.setdefault("id", self.next_id("g"))
        reply = self._garbage(who, json.dumps({"type": type_, **fields}))
        if (reply is None or not reply["ok"]) and isinstance(fields.get("client_msg_id"), str):
            self.refused.add(fields["client_msg_id"])

    @rule(
        index=st.integers(0, VISITORS - 1),
        size=st.sampled_from([4001, 20_000, 70_000]),
        to_advisor=st.booleans(),
    )
    def huge_text(self, index: int, size: int, to_advisor: bool) -> None:
        chat = self.chats[index]
        client_msg_id = self.next_id("h")
        self.refused.add(client_msg_id)
        message: dict[str, Any] = {"type": "message.send", "id": client_msg_id, "client_msg_id": client_msg_id}
        message["text"] = self.tag(chat, "huge").ljust(size, "x")
        if to_advisor:
            message["conversation_id"] = chat.id
        self._garbage(VISITORS if to_advisor else index, json.dumps(message))

    @rule(
        index=st.integers(0, VISITORS - 1),
        odd=st.sampled_from(["\ud800", "a\udfffb", "\x00", "\u202e\u200f", "\ufeff", "\U0001f600" * 1000]),
    )
    def odd_text(self, index: int, odd: str) -> None:
        """Lone surrogates (only JSON escapes can carry them), NUL, bidi marks, emoji."""
        chat = self.chats[index]
        client_msg_id = self.next_id("o")
        frame = {"type": "message.send", "id": client_msg_id, "client_msg_id": client_msg_id}
        reply = self._garbage(index, json.dumps({**frame, "text": f"[{chat.id}] {odd}"}))
        if reply is None or not reply["ok"]:
            self.refused.add(client_msg_id)

    @rule(who=st.integers(0, VISITORS), depth=st.sampled_from([50, 1000, 30_000]))
    def deeply_nested(self, who: int, depth: int) -> None:
        self._garbage(who, deep(depth))

    @rule(index=st.integers(0, VISITORS - 1), other=st.integers(0, VISITORS - 1), field=st.sampled_from(["id", "tok"]))
    def other_conversation(self, index: int, other: int, field: str) -> None:
        """A visitor naming another conversation, or the advisor one it does not hold."""
        chat, theirs = self.chats[index], self.chats[other]
        client_msg_id = self.next_id("x")
        self.refused.add(client_msg_id)
        if field == "id":
            frame = {"type": "message.send", "id": client_msg_id, "client_msg_id": client_msg_id}
            self._garbage(index, json.dumps({**frame, "text": self.tag(theirs, "cross"), "conversation_id": theirs.id}))
        else:
            frame = {"type": "message.send", "id": client_msg_id, "client_msg_id": client_msg_id}
            stranger = str(uuid.uuid4())
            self._garbage(VISITORS, json.dumps({**frame, "text": self.tag(chat, "cross"), "conversation_id": stranger}))

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def nobody_sees_another_conversation(self) -> None:
        for chat in self.chats:
            if chat.client.closed_code is None:
                try:
                    self.run(chat.client.drain(0.01))
                except ConnectionClosed as closed:
                    assert closed.code in CLOSE_CODES, f"closed with {closed.code}"
            for message in chat.client.inbox:
                if "conversation_id" in message:
                    assert message["conversation_id"] == chat.id, message
                if message.get("type") == "entry":
                    chat.last_seq = max(chat.last_seq, message["seq"])
                    text = message.get("text", "")
                    assert not text.startswith("[") or text.startswith(f"[{chat.id}]"), message
                    assert message.get("client_msg_id") not in self.refused, message
                assert not (
                    message.get("type") == "reply" and message["error"] and message["error"]["code"] == "internal_error"
                )
            chat.client.inbox.clear()
        self.run(self.advisor.drain(0.01))
        for message in self.advisor.inbox:
            error = message.get("error") if message.get("type") == "reply" else None
            assert not (error and error["code"] == "internal_error"), message
        self.advisor.inbox.clear()

    def teardown(self) -> None:
        async def close_all() -> None:
            for client in [self.advisor, *(chat.client for chat in self.chats)]:
                await client.close()

        try:
            stored = self.run(_stored(self.refused))
            assert not stored, f"refused messages were stored: {stored}"
        finally:
            self.run(close_all())


def _field(frame: str | bytes, name: str) -> Any:
    try:
        data = json.loads(frame)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data.get(name) if isinstance(data, dict) else None


def _request_id(frame: str | bytes) -> str | None:
    request_id = _field(frame, "id")
    return request_id if isinstance(request_id, str) and len(request_id) <= 64 else None


async def _stored(client_msg_ids: set[str]) -> list[str]:
    stored = Message.objects.filter(client_msg_id__in=client_msg_ids).values_list("client_msg_id", flat=True)
    return [str(m) async for m in stored]


def test_protocol_survives_random_clients() -> None:
    factories.queues()
    loop = asyncio.new_event_loop()
    ProtocolMachine.loop = loop
    try:
        run_state_machine_as_test(
            ProtocolMachine,
            settings=settings(
                max_examples=depth(8),
                stateful_step_count=25,
                deadline=None,
                # No shrinking: a failure prints its steps as found, and the file stays quick.
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        loop.close()
