"""A visitor speaking protocol v1 over a real websocket to a live server, for browser tests.

The browser tests are synchronous (Playwright's sync API keeps the main thread's loop), so the
visitor's socket (harness.client) runs on an event loop in a thread of its own; every frame it
receives is kept, in order, for `wait_for` and `texts`."""

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from harness.client import Client, open_socket

T = TypeVar("T")
TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "language": "en", "help": ["housing"]}


class LiveVisitor:
    def __init__(self, ws_url: str, origin: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Condition()
        self.ids = itertools.count(1)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = self._run(self._open(f"{ws_url}/ws/visitor/", origin))

    async def _open(self, url: str, origin: str) -> Client:
        return Client(await open_socket(url, origin=origin), self._received, name="v", timeout=10)

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def _received(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.messages.append(message)
            self.lock.notify_all()

    def wait_for(self, timeout: float = 10, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for message in self.messages:
                    if all(message.get(k) == v for k, v in match.items()):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no message {match} within {timeout}s; got {self.messages[-5:]}")
                self.lock.wait(remaining)

    def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        return self._run(self.client.ok(type_, **fields))

    def queue(self, **triage: Any) -> str:
        self.request("hello")
        conversation_id: str = self.request("conversation.start")["conversation_id"]
        self.request("triage.submit", answers={**TRIAGE, **triage})
        return conversation_id

    def say(self, text: str) -> dict[str, Any]:
        return self.request("message.send", client_msg_id=f"m{next(self.ids)}", text=text)

    def texts(self) -> list[str]:
        with self.lock:
            return [m.get("text", "") for m in self.messages if m.get("type") == "entry"]

    def end(self) -> None:
        """End the visitor's chat if one is open (best effort): the live server is shared by a
        whole session, and a chat left queued would be the next test's "take next"."""
        with contextlib.suppress(Exception):  # closed already, or nothing to end
            self._run(self.client.request("conversation.end"), timeout=5)

    def close(self) -> None:
        try:
            self._run(self.client.close(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
