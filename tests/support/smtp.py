"""A real SMTP server for tests (aiosmtpd, on its own thread): it keeps what it accepts, and can
refuse every recipient for good (5xx) or answer "try again later" (4xx) to the first N messages."""

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.live import LiveServer, embedded_server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    refuse: bool = False
    try_later: int = 0
    messages: list[Message] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.try_later > 0:
            self.try_later -= 1
            return "451 4.3.0 Busy, try again later"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def bodies(self) -> list[str]:
        return [str(m.get_payload(decode=True).decode()) for m in self.messages]  # type: ignore[union-attr]


@contextmanager
def smtp_server(mailbox: Mailbox, port: int | None = None) -> Iterator[int]:
    """Serve `mailbox` on 127.0.0.1 (on `port`, else a free one) until the block ends; yields the port."""
    port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def server_sending_to(mailbox: Mailbox, tmp: Path) -> Iterator[LiveServer]:
    """A started live server whose email goes by SMTP to `mailbox`, its delivery links naming
    the server's own address; stopped when the block ends."""
    with smtp_server(mailbox) as port:
        server = embedded_server(tmp, env={"EMAIL_BACKEND": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)})
        server.env["RISK_DELIVERY_BASE_URL"] = server.url
        server.start()
        try:
            yield server
        finally:
            server.stop()
