"""A stand-in for Telegram's Bot API, over real HTTP: the methods the bot uses (getMe, setWebhook,
deleteWebhook, getWebhookInfo, getUpdates, sendMessage, editMessageText, sendChatAction,
deleteMessage, deleteMessages, answerCallbackQuery), each call recorded, with switches for the
failures the product must survive: `down` (the next N calls answer 502), `flood` (the next N
sends answer 429 with retry_after), `blocked` (chats whose sends answer 403) and `gone` (400
chat not found). It makes Telegram-shaped updates for a visitor and posts them to our webhook
with the secret token, as Telegram does.

Point the product at it with settings.TELEGRAM["API_URL"] = api.url."""

import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.stand_in import StandIn

TOKEN = "123456:TEST-token"
SECRET = "webhook-secret-for-tests"
BOT_ID = 123456


@dataclass
class Call:
    at: float
    method: str
    params: dict[str, Any]
    status: int = 200


@dataclass
class ChatMessage:
    chat_id: int
    message_id: int
    text: str
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)
    from_bot: bool = True
    deleted: bool = False


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


class _Handler(BaseHTTPRequestHandler):
    server: "FakeTelegram"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        kind = self.headers.get("Content-Type", "")
        params: dict[str, Any] = {}
        if kind.startswith("application/json") and body:
            params = json.loads(body)
        elif kind.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + body)
            for part in message.iter_parts():
                params[str(part.get_param("name", header="content-disposition"))] = _decode(part.get_content())
        elif body:
            params = {k: _decode(v) for k, v in urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)}
        prefix, _, method = self.path.rpartition("/")
        if prefix != f"/bot{TOKEN}":
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        status, reply = self.server.answer(method, params)
        self._json(status, reply)

    do_GET = do_POST

    def _json(self, status: int, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeTelegram(StandIn):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.messages: list[ChatMessage] = []
        self.webhook: dict[str, Any] = {}
        self.down = 0  # the next N calls answer 502
        self.flood = 0  # the next N sendMessage calls answer 429
        self.retry_after = 1
        self.blocked: set[int] = set()
        self.gone: set[int] = set()
        self.pending_updates: list[dict[str, Any]] = []
        # Cleared, sendMessage waits (up to a minute) until it is set again; `holding` says one is waiting.
        self.gate = threading.Event()
        self.gate.set()
        self.holding = threading.Event()
        self._message_ids = itertools.count(1000)
        self._update_ids = itertools.count(500_000)

    # --- the API ------------------------------------------------------------------------------

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "sendMessage" and not self.gate.is_set():
            self.holding.set()
            self.gate.wait(60)
        with self.lock:
            call = Call(time.monotonic(), method, params)
            self.calls.append(call)
            status, reply = self._answer(method, params)
            call.status = status
            return status, reply

    def _error(self, status: int, description: str, **extra: Any) -> tuple[int, dict[str, Any]]:
        return status, {"ok": False, "error_code": status, "description": description, **extra}

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.down > 0:
            self.down -= 1
            return self._error(502, "Bad Gateway")
        chat_id = int(params["chat_id"]) if "chat_id" in params else None
        if chat_id in self.blocked and method != "getMe":
            return self._error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.gone:
            return self._error(400, "Bad Request: chat not found")
        if method == "sendMessage" and self.flood > 0:
            self.flood -= 1
            return self._error(
                429, f"Too Many Requests: retry after {self.retry_after}", parameters={"retry_after": self.retry_after}
            )
        handler: Callable[[dict[str, Any]], Any] | None = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        result = handler(params)
        if isinstance(result, tuple):
            return result
        return 200, {"ok": True, "result": result}

    def _m_getMe(self, params: dict[str, Any]) -> Any:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Bot", "username": "test_bot"}

    def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {}
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}

    def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        self.pending_updates = updates
        return updates

    def _message(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
            "text": text,
        }

    def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id, text = int(params["chat_id"]), str(params["text"])
        markup = params.get("reply_markup") or {}
        message = ChatMessage(chat_id, next(self._message_ids), text, list(markup.get("inline_keyboard", [])))
        self.messages.append(message)
        return self._message(chat_id, message.message_id, text)

    def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        found = self._find(int(params["chat_id"]), int(params["message_id"]))
        if found is None:
            return self._error(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup") or {}
        found.text, found.buttons = str(params["text"]), list(markup.get("inline_keyboard", []))
        return self._message(found.chat_id, found.message_id, found.text)

    def _m_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    def _m_deleteMessage(self, params: dict[str, Any]) -> Any:
        return self._m_deleteMessages({"chat_id": params["chat_id"], "message_ids": [params["message_id"]]})

    def _m_deleteMessages(self, params: dict[str, Any]) -> Any:
        for message_id in params["message_ids"]:
            found = self._find(int(params["chat_id"]), int(message_id))
            if found is not None:
                found.deleted = True
        return True

    def _find(self, chat_id: int, message_id: int) -> ChatMessage | None:
        return next((m for m in self.messages if m.chat_id == chat_id and m.message_id == message_id), None)

    # --- the visitor's side -------------------------------------------------------------------

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float = 15) -> None:
        """For a server that sends from a thread of its own (the embedded profile's delivery)."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout} s: {what}")
            time.sleep(0.02)

    def calls_of(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def chat(self, chat_id: int) -> list[ChatMessage]:
        """What the visitor's Telegram shows: the chat's messages not deleted."""
        with self.lock:
            return [m for m in self.messages if m.chat_id == chat_id and not m.deleted]

    def bot_texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.chat(chat_id) if m.from_bot]

    def message_update(self, chat_id: int, text: str | None, *, language: str = "en") -> dict[str, Any]:
        """The visitor writes: recorded in the chat, and the update Telegram would send."""
        with self.lock:
            message_id = next(self._message_ids)
            self.messages.append(ChatMessage(chat_id, message_id, text or "", from_bot=False))
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Someone", "username": "someone"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Someone", "language_code": language},
        }
        if text is not None:
            message["text"] = text
        else:
            message["photo"] = [{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]
        return {"update_id": next(self._update_ids), "message": message}

    def press_update(self, chat_id: int, label: str) -> dict[str, Any]:
        """The visitor presses the button labelled `label` of the latest message that has one."""
        with self.lock:
            for message in reversed(self.messages):
                if message.chat_id != chat_id or message.deleted:
                    continue
                for row in message.buttons:
                    for button in row:
                        if button["text"] == label or button["text"].removeprefix("✓ ") == label:
                            return self._callback(chat_id, message, button["callback_data"])
        raise AssertionError(f"no button {label!r} in chat {chat_id}: {self.bot_texts(chat_id)[-3:]}")

    def buttons(self, chat_id: int) -> list[str]:
        """The labels of the latest message with buttons."""
        return self.latest_buttons(chat_id)[1]

    def latest_buttons(self, chat_id: int) -> tuple[int, list[str]]:
        """The id and the labels of the latest message with buttons; (0, []) if none."""
        with self.lock:
            for message in reversed(self.messages):
                if message.chat_id == chat_id and message.buttons and not message.deleted:
                    return message.message_id, [b["text"] for row in message.buttons for b in row]
        return 0, []

    def _callback(self, chat_id: int, message: ChatMessage, data: str) -> dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": f"cb-{next(self._message_ids)}",
                "from": {"id": chat_id, "is_bot": False, "first_name": "Someone", "language_code": "en"},
                "chat_instance": "1",
                "data": data,
                "message": {
                    **self._message(chat_id, message.message_id, message.text),
                    "chat": {"id": chat_id, "type": "private"},
                },
            },
        }

    def blocked_update(self, chat_id: int) -> dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "my_chat_member": {
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "Someone"},
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"}},
                "new_chat_member": {
                    "status": "kicked",
                    "until_date": 0,
                    "user": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
                },
            },
        }


def post_to_webhook(url: str, update: Any, *, secret: str = SECRET, raw: bytes | None = None) -> tuple[int, Any]:
    """POST an update to a webhook over HTTP, as Telegram does; (status, decoded body)."""
    body = raw if raw is not None else json.dumps(update).encode()
    request = urllib.request.Request(  # noqa: S310 - a test's own local server
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
