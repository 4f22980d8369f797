"""Twisted's TCP transport, sending a write straight away when nothing is waiting to be sent.

Twisted buffers every `transport.write` and sends it on a later turn of the reactor (upstream:
twisted/twisted#5303). On daphne's asyncio reactor each frame of a websocket then costs a round
of its own: the transport registers a writer with the event loop (an `epoll_ctl`), the loop
wakes for it, Twisted's Python joins the buffer and sends it, and unregisters the writer (another
`epoll_ctl`). autobahn writes each frame in one piece, so batching there saves no system call;
the round is pure cost, and a frame waits for the loop's next turn before it leaves. A queue
snapshot written to every console of a queue was one such round per console on the next turn,
ahead of whatever arrived meanwhile.

`install()` makes a write go to the socket at once when the transport has nothing buffered
(as asyncio's own transports do). Whatever the socket does not take (its send buffer full: a
slow reader), and every write made while something is still buffered, goes to Twisted's buffer
as before, so the order of the bytes is kept, and flow control (`_maybePauseProducer`) and the
product's slow-reader limit (chat/engine/socket.py, which reads that buffer) see what they saw before.
A failed send is left to Twisted's own write path to find and report as a lost connection. A
connection that has started TLS over itself (STARTTLS, which this product never does) writes as
before.

What it saved under `make bench` is in docs/performance.md (standing decisions).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import tcp

_buffered_write = tcp.Connection.write


def write(self: Any, data: bytes) -> None:
    if (
        type(data) is bytes
        and data
        and self.connected
        and not self.TLS  # STARTTLS: the bytes go through the TLS layer, as before
        and not self.disconnecting
        and not self._writeDisconnected
        and not self._tempDataLen
        and not self.dataBuffer
    ):
        try:
            sent = self.socket.send(data)
        except OSError:  # would block: buffered; reset, broken pipe: Twisted's write path reports it
            sent = 0
        if sent == len(data):
            return
        data = data[sent:]
    _buffered_write(self, data)


def install() -> None:
    """From now on every TCP connection of this process writes through (idempotent)."""
    tcp.Connection.write = write  # type: ignore[method-assign]


def installed() -> bool:
    return tcp.Connection.write is write
