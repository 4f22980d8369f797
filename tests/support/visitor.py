"""A visitor speaking protocol v1 over a real websocket to a live server (for browser tests)."""

import itertools
import json
import threading
import time
from typing import Any

from websockets.sync.client import connect
from websockets.typing import Origin

TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "language": "en", "help": ["housing"]}


class LiveVisitor:
    def __init__(self, ws_url: str, origin: str) -> None:
        self.socket = connect(f"{ws_url}/ws/visitor/", origin=Origin(origin), legacy=True)
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Condition()
        self.ids = itertools.count(1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            for raw in self.socket:
                with self.lock:
                    self.messages.append(json.loads(raw))
                    self.lock.notify_all()
        except Exception:  # noqa: S110 - the socket closed; waiters time out with what arrived
            pass

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
        request_id = f"v{next(self.ids)}"
        self.socket.send(json.dumps({"type": type_, "id": request_id, **fields}))
        reply = self.wait_for(type="reply", id=request_id)
        assert reply["ok"], reply
        return reply["result"]

    def queue(self, **triage: Any) -> str:
        self.request("hello")
        conversation_id = self.request("conversation.start")["conversation_id"]
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
        request_id = f"v{next(self.ids)}"
        try:
            self.socket.send(json.dumps({"type": "conversation.end", "id": request_id}))
            self.wait_for(timeout=5, type="reply", id=request_id)
        except Exception:  # noqa: S110 - closed already, or nothing to end
            pass

    def close(self) -> None:
        self.socket.close()
