"""config/write_through.py: a write goes to the socket at once when the transport has nothing
buffered; the rest keeps Twisted's buffer, its order and its error path. Real TCP sockets on
127.0.0.1 under Twisted's own TCP transport; the reactor is Twisted's in-memory one, so the test
can see which connections asked to be woken for writing. Every live server of the test suite
(`python -m config.server`) writes through as well."""

import socket
from collections.abc import Callable, Iterator
from typing import cast

import pytest
from twisted.internet import main, tcp
from twisted.internet.interfaces import IProtocol, IReactorFDSet
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor

from config import write_through


@pytest.fixture(autouse=True)
def installed() -> Iterator[None]:
    before = tcp.Connection.write
    write_through.install()
    yield
    tcp.Connection.write = before  # type: ignore[method-assign]


PairMaker = Callable[..., tuple[socket.socket, socket.socket]]


@pytest.fixture
def tcp_pair() -> Iterator[PairMaker]:
    """Makes connected pairs of TCP sockets on 127.0.0.1 (the first non-blocking, as Twisted's
    are), closed after the test."""
    made: list[socket.socket] = []

    def make(*, small_buffers: bool = False) -> tuple[socket.socket, socket.socket]:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            if small_buffers:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            ours = socket.socket()
            made.append(ours)
            if small_buffers:
                ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            ours.connect(listener.getsockname())
            theirs, _ = listener.accept()
            made.append(theirs)
        ours.setblocking(False)
        theirs.settimeout(5)
        return ours, theirs

    yield make
    for skt in made:
        skt.close()


def connection(skt: socket.socket) -> tuple[tcp.Connection, MemoryReactor]:
    reactor = MemoryReactor()
    conn = tcp.Connection(skt, cast(IProtocol, Protocol()), cast(IReactorFDSet, reactor))
    conn.connected = True
    return conn, reactor


def read_all(skt: socket.socket, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        chunk = skt.recv(65536)
        assert chunk, "the peer closed early"
        received += chunk
    return bytes(received)


def test_a_write_with_nothing_buffered_leaves_at_once(tcp_pair: PairMaker) -> None:
    ours, theirs = tcp_pair()
    conn, reactor = connection(ours)
    conn.write(b"first frame")
    assert theirs.recv(100) == b"first frame"  # no turn of the reactor needed
    assert reactor.getWriters() == []
    assert (conn.dataBuffer, conn._tempDataLen) == (b"", 0)
    conn.write(b"second")
    assert theirs.recv(100) == b"second"


def test_what_the_socket_does_not_take_waits_in_twisteds_buffer_and_keeps_its_order(tcp_pair: PairMaker) -> None:
    ours, theirs = tcp_pair(small_buffers=True)
    conn, reactor = connection(ours)
    big = bytes(range(256)) * 16_384  # 4 MB: far more than the socket takes at once
    conn.write(big)
    assert conn._tempDataLen > 0, "the socket took everything: nothing was left to buffer"
    assert reactor.getWriters() == [conn]  # Twisted is woken for the rest, as before
    # While something is buffered a small write queues behind it, never ahead of it.
    conn.write(b"tail")
    assert conn._tempDataLen + len(conn.dataBuffer) - conn.offset > 4
    received = bytearray()
    while conn in reactor.getWriters():
        received += theirs.recv(1 << 20)
        assert conn.doWrite() is None
    received += read_all(theirs, len(big) + 4 - len(received))
    assert bytes(received) == big + b"tail"
    # Drained: the next write goes straight out again.
    conn.write(b"again")
    assert theirs.recv(100) == b"again"


def test_a_write_to_a_connection_the_peer_reset_is_reported_by_twisteds_own_path(tcp_pair: PairMaker) -> None:
    ours, theirs = tcp_pair()
    conn, reactor = connection(ours)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    theirs.close()  # linger 0: a reset
    conn.write(b"into the void")  # does not raise
    assert reactor.getWriters() == [conn]
    assert conn.doWrite() is main.CONNECTION_LOST


def test_a_connection_being_closed_writes_as_before(tcp_pair: PairMaker) -> None:
    """loseConnection() waits for the buffer to drain; a write meanwhile joins the buffer."""
    ours, theirs = tcp_pair()
    conn, reactor = connection(ours)
    conn.disconnecting = True
    conn.write(b"last words")
    assert conn._tempDataLen == len(b"last words")
    assert reactor.getWriters() == [conn]
    assert conn.doWrite() is main.CONNECTION_DONE
    assert theirs.recv(100) == b"last words"


def test_a_write_after_the_connection_is_lost_is_dropped_and_text_is_refused(tcp_pair: PairMaker) -> None:
    ours, theirs = tcp_pair()
    conn, reactor = connection(ours)
    with pytest.raises(TypeError):
        conn.write("text, not bytes")
    conn.connected = False
    conn.write(b"too late")
    assert reactor.getWriters() == []
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(100)


def test_install_is_idempotent() -> None:
    write_through.install()
    write_through.install()
    assert write_through.installed()
    assert tcp.Connection.write is write_through.write
