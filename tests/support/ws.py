"""Protocol clients over the project's real ASGI application, for consumer tests."""

import asyncio
import itertools
import json
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application

ORIGIN = b"http://127.0.0.1:8000"
_ids = itertools.count(1)


class ProtocolClient:
    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.inbox: list[dict[str, Any]] = []
        self.closed_code: int | None = None
        self.frames: list[dict[str, Any]] = []  # every frame received, as sent
        self._unfolded: list[dict[str, Any]] = []

    async def connect(self) -> "ProtocolClient":
        connected, _ = await self.communicator.connect(timeout=10)
        assert connected
        return self

    async def send(self, message: dict[str, Any]) -> None:
        await self.communicator.send_to(text_data=json.dumps(message))

    async def send_raw(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def _receive_one(self, timeout: float) -> dict[str, Any]:
        """The next message. A reply carrying the sender's own entry gives the entry first, then
        the reply, as the widget and the console read it."""
        if self._unfolded:
            return self._unfolded.pop(0)
        # Not receive_output(): its timeout cancels the application.
        future = self.communicator.future
        if future.done():
            future.result()
        output = await asyncio.wait_for(self.communicator.output_queue.get(), timeout)
        if output["type"] == "websocket.close":
            self.closed_code = output.get("code")
            raise ConnectionClosed(self.closed_code)
        message: dict[str, Any] = json.loads(output["text"])
        self.frames.append(message)
        if message.get("type") == "reply" and message.get("ok") and "entry" in (message.get("result") or {}):
            self._unfolded.append(message)
            return dict(message["result"]["entry"])
        return message

    async def expect(self, type_: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
        """The first message of `type_` whose fields equal `match`; others stay in the inbox."""

        def matches(message: dict[str, Any]) -> bool:
            return message.get("type") == type_ and all(message.get(k) == v for k, v in match.items())

        for index, message in enumerate(self.inbox):
            if matches(message):
                return self.inbox.pop(index)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {type_} {match} within {timeout}s; inbox: {self.inbox[-10:]}")
            try:
                message = await self._receive_one(remaining)
            except TimeoutError:
                continue
            if matches(message):
                return message
            self.inbox.append(message)

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        request_id = f"r{next(_ids)}"
        await self.send({"type": type_, "id": request_id, **fields})
        return await self.expect("reply", id=request_id)

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request(type_, **fields)
        assert reply["ok"], reply
        return reply["result"]

    async def error(self, type_: str, **fields: Any) -> str:
        reply = await self.request(type_, **fields)
        assert not reply["ok"], reply
        return reply["error"]["code"]

    async def entries(self, count: int, timeout: float = 5, **match: Any) -> list[dict[str, Any]]:
        return [await self.expect("entry", timeout=timeout, **match) for _ in range(count)]

    async def drain(self, wait: float = 0.05) -> None:
        """Move whatever arrives within `wait` seconds into the inbox."""
        while True:
            try:
                self.inbox.append(await self._receive_one(wait))
            except TimeoutError:
                return

    async def expect_closed(self, timeout: float = 5) -> int | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                self.inbox.append(await self._receive_one(deadline - loop.time()))
            except ConnectionClosed as closed:
                return closed.code
            except TimeoutError:
                break
        raise AssertionError("socket was not closed")

    async def close(self) -> None:
        await self.communicator.disconnect()


class ConnectionClosed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


def visitor_socket(origin: bytes = ORIGIN) -> ProtocolClient:
    return ProtocolClient(WebsocketCommunicator(application, "/ws/visitor/", headers=[(b"origin", origin)]))


def verified_session_cookie(user: Any) -> str:
    """A real signed-in session that has passed two-factor with a confirmed TOTP device."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="test", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


session_cookie = sync_to_async(verified_session_cookie)


async def staff_socket(user: Any | None, origin: bytes = ORIGIN) -> ProtocolClient:
    headers = [(b"origin", origin)]
    if user is not None:
        headers.append((b"cookie", (await session_cookie(user)).encode()))
    return ProtocolClient(WebsocketCommunicator(application, "/ws/console/", headers=headers))


TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "language": "en", "help": ["emotional_support"]}


async def queued_visitor(**triage: Any) -> tuple[ProtocolClient, str, str]:
    """A visitor through hello, start and triage: (client, token, conversation id)."""
    visitor = await visitor_socket().connect()
    hello = await visitor.ok("hello")
    started = await visitor.ok("conversation.start")
    await visitor.ok("triage.submit", answers={**TRIAGE, **triage})
    return visitor, hello["token"], started["conversation_id"]


async def advisor_on_shift(user: Any) -> ProtocolClient:
    advisor = await (await staff_socket(user)).connect()
    await advisor.ok("hello")
    await advisor.ok("availability.set", availability="on_shift")
    return advisor
