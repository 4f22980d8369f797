"""A websocket client on a bare TCP socket, for abuse tests against a live server: it can make
frames no library would send (oversized, binary, bad UTF-8), and it can stop reading, with a
tiny receive buffer, so that whatever the server sends piles up on the server's side."""

import base64
import contextlib
import json
import os
import socket
import struct
import time
from typing import Any

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class Refused(Exception):
    """The server answered the opening handshake with something other than 101."""

    def __init__(self, status_line: str) -> None:
        super().__init__(status_line)
        self.status_line = status_line


class Closed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


class RawWebsocket:
    def __init__(
        self,
        port: int,
        path: str,
        *,
        origin: str | None,
        cookie: str | None = None,
        receive_buffer: int | None = None,
        timeout: float = 10,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            # Before connect, so the advertised TCP window stays this small.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buffer = b""
        self.ids = 0
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        if cookie is not None:
            lines.append(f"Cookie: {cookie}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Refused("connection closed during the handshake")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in status_line + " ":
            self.sock.close()
            raise Refused(status_line)

    # --- sending ---------------------------------------------------------------------------

    def send_frame(self, payload: bytes, opcode: int = TEXT) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 2**16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = _mask(payload, mask)
        self.sock.sendall(header + mask + masked)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_frame(json.dumps(message).encode())

    def request(self, type_: str, **fields: Any) -> str:
        """Sends a request without waiting; returns its id."""
        self.ids += 1
        request_id = f"raw{self.ids}"
        self.send_json({"type": type_, "id": request_id, **fields})
        return request_id

    # --- receiving -------------------------------------------------------------------------

    def _read_exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(None)
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self) -> dict[str, Any]:
        """The next text message (answering pings on the way); Closed on a close frame."""
        while True:
            first, second = self._read_exactly(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read_exactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read_exactly(8))
            payload = self._read_exactly(length)
            if opcode == CLOSE:
                raise Closed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
            if opcode == PING:
                self.send_frame(payload, PONG)
                continue
            if opcode == TEXT:
                message: dict[str, Any] = json.loads(payload)
                return message

    def expect(self, timeout: float = 10, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.receive()
            if all(message.get(k) == v for k, v in match.items()):
                return message
        raise AssertionError(f"no message {match} within {timeout}s")

    def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        request_id = self.request(type_, **fields)
        reply = self.expect(type="reply", id=request_id)
        assert reply["ok"], reply
        result: dict[str, Any] = reply["result"]
        return result

    def expect_closed(self, timeout: float = 10) -> int | None:
        """Reads (and drops) messages until the close frame; its code, or None if the TCP
        connection ended without one."""
        self.sock.settimeout(timeout)
        try:
            while True:
                self.receive()
        except Closed as closed:
            return closed.code
        except (ConnectionResetError, BrokenPipeError):
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _mask(payload: bytes, mask: bytes) -> bytes:
    # One big-integer XOR instead of a Python loop over a long payload.
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")
