"""Abuse against a real daphne process, over real TCP: what a WebsocketCommunicator cannot show
(tests/test_protocol_errors.py covers the same inputs in-process).

- a slow reader, whether it keeps asking for replays or only its advisor writes, is dropped once
  it leaves a megabyte unread for SLOW_READER_SECONDS, the process's memory stays flat, and the
  conversations beside it are served as usual;
- a flood gets `rate_limited`, then close 4008, over the wire;
- frames over our 64 KB limit and over daphne's (config/server.py's), announced sizes
  that never arrive, text frames that are not UTF-8 and unmasked frames are closed with a close
  frame naming the code (1009, 1007, 1002), binary frames get `binary_frame`, and the process
  carries on;
- guessed tokens, and other visitors' conversation ids, are refused alike and reach nothing;
- other origins are refused at the handshake (HTTP 403) on both sockets, with a staff cookie too;
- every console hears a queue change, written to it straight from the process's queue channel.

The server is the embedded profile (its own SQLite file) in both test runs: these are properties
of daphne and the consumers, whichever layer and database sit behind them.
"""

import contextlib
import itertools
import re
import secrets
import select
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from chat.engine.socket import OUTBOUND_LIMIT_BYTES, SLOW_READER_SECONDS
from config.server import DEFAULT_OPTIONS
from tests.support.live import LiveServer, embedded_server
from tests.support.rawws import BINARY, TEXT, Closed, RawWebsocket, Refused

TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "language": "en", "help": ["housing"]}
RATE, BURST, STRIKES = 50, 100, 20
MEMORY_BOUND = 50 * 1024 * 1024  # a safety property, not a performance figure
_names = itertools.count(1)


# The limits every server of the product starts with (config/server.py), so the ones tested are the ones deployed.
DAPHNE_MAX_MESSAGE = int(DEFAULT_OPTIONS[DEFAULT_OPTIONS.index("--websocket-max-message-size") + 1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = embedded_server(
        tmp_path_factory.mktemp("abuse"),
        env={
            "CHAT_RATE_PER_SECOND": str(RATE),
            "CHAT_RATE_BURST": str(BURST),
            "CHAT_FLOOD_STRIKES": str(STRIKES),
            # Nobody's chat closes while the module runs.
            "VISITOR_GRACE_SECONDS": "600",
            "ADVISOR_GRACE_SECONDS": "600",
        },
    )
    live.start()
    yield live
    assert live.process is not None
    alive = live.process.poll() is None
    live.stop()
    errors = live.output()
    assert alive, f"daphne died during the module:\n{errors[-4000:]}"
    assert "Traceback" not in errors, errors[-4000:]


def rss(server: LiveServer) -> int:
    assert server.process is not None
    return int(psutil.Process(server.process.pid).memory_info().rss)


def visitor(server: LiveServer, **options: Any) -> RawWebsocket:
    return RawWebsocket(server.port, "/ws/visitor/", origin=server.url, **options)


def queued(server: LiveServer, **options: Any) -> tuple[RawWebsocket, str, str]:
    """A visitor through hello, start and triage: (socket, token, conversation id)."""
    client = visitor(server, **options)
    token = client.ok("hello")["token"]
    conversation_id = client.ok("conversation.start")["conversation_id"]
    client.ok("triage.submit", answers=TRIAGE)
    return client, token, conversation_id


def advisor_cookie(server: LiveServer) -> str:
    """A new advisor on the live server's database and a verified session cookie for them."""
    name = f"abuse{next(_names)}"
    out = server.shell(
        "from django.contrib.auth import get_user_model; from agents.models import StaffProfile; "
        "from chat.models import Queue; from tests.support.ws import verified_session_cookie; "
        f"u = get_user_model().objects.create_user(username={name!r}, password='x-abuse-password-1'); "
        f"p = StaffProfile.objects.create(user=u, role='advisor', display_name={name!r}, capacity=3); "
        "p.queues.set(Queue.objects.all()); print(verified_session_cookie(u))"
    )
    return out.strip().splitlines()[-1]


def advisor(server: LiveServer, cookie: str | None = None) -> RawWebsocket:
    client = RawWebsocket(server.port, "/ws/console/", origin=server.url, cookie=cookie or advisor_cookie(server))
    client.ok("hello")
    client.ok("availability.set", availability="on_shift")
    return client


def chatting(server: LiveServer, **options: Any) -> tuple[RawWebsocket, RawWebsocket, str]:
    """A visitor and their advisor, talking: (visitor, advisor, conversation id)."""
    staff = advisor(server)
    client, _, conversation_id = queued(server, **options)
    staff.ok("conversation.accept", conversation_id=conversation_id)
    return client, staff, conversation_id


def round_trip(client: RawWebsocket, staff: RawWebsocket, conversation_id: str, marker: str) -> None:
    """Each side's message reaches the other, tagged with the conversation it belongs to."""
    marker = re.sub(r"[^A-Za-z0-9_.:-]", "-", marker)
    client.ok("message.send", client_msg_id=f"v-{marker}", text=f"{conversation_id} visitor {marker}")
    entry = staff.expect(type="entry", client_msg_id=f"v-{marker}")
    assert entry["conversation_id"] == conversation_id
    staff.ok("message.send", conversation_id=conversation_id, client_msg_id=f"a-{marker}", text=f"{marker} back")
    assert client.expect(type="entry", client_msg_id=f"a-{marker}")["conversation_id"] == conversation_id


def healthy(server: LiveServer) -> None:
    fresh = visitor(server)
    assert "token" in fresh.ok("hello")
    fresh.close()


def dropped(client: RawWebsocket, timeout: float) -> bool:
    """Whether the server ends the TCP connection within `timeout`, found without reading
    (reading would make the slow reader a reader)."""
    poller = select.poll()
    poller.register(client.sock, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(events & (select.POLLRDHUP | select.POLLHUP | select.POLLERR) for _, events in poller.poll(200)):
            return True
    return False


# --- (a) slow readers --------------------------------------------------------------------------


def test_a_slow_reader_that_keeps_asking_for_replays_is_dropped_and_memory_stays_flat(server: LiveServer) -> None:
    # ~1.2 MB of log (JSON escapes each character to six bytes); each `sync` from 0 replays all
    # of it. Before the outbound limit daphne buffered every unread replay, without end.
    slow, _, _ = queued(server, receive_buffer=4096)
    log_bytes = 0
    for n in range(50):
        text = "\u00e9" * 4000
        slow.ok("message.send", client_msg_id=f"fill{n}", text=text)
        log_bytes += 6 * len(text)
    neighbour, staff, conversation_id = chatting(server)
    before = rss(server)
    stop = threading.Event()
    sent = [0]

    def ask_without_reading() -> None:
        try:
            while not stop.is_set():
                slow.request("sync", last_seq=0)
                sent[0] += 1
                # Slowly enough to be served every time: the rate limit is not what stops it.
                time.sleep(0.1)
        except OSError:
            return  # dropped by the server

    asker = threading.Thread(target=ask_without_reading, daemon=True)
    started = time.monotonic()
    asker.start()
    try:
        # The neighbours keep talking all the while, and hear each other at once.
        n = 0
        while asker.is_alive() and time.monotonic() - started < SLOW_READER_SECONDS + 10:
            t = time.monotonic()
            round_trip(neighbour, staff, conversation_id, f"n{n}")
            assert time.monotonic() - t < 2, "a neighbour's round trip was slowed down"
            n += 1
            time.sleep(0.1)  # the neighbours talk at a human pace, well inside the rate limit
        assert not asker.is_alive(), f"the slow reader was not dropped after {sent[0]} syncs"
        # What it asked for, had it all been buffered, is several times the bound.
        assert sent[0] * log_bytes > 2 * MEMORY_BOUND, "the slow reader asked for too little to tell"
        assert rss(server) - before < MEMORY_BOUND
        round_trip(neighbour, staff, conversation_id, "after")
    finally:
        stop.set()
        asker.join(5)
        for client in (slow, neighbour, staff):
            client.close()
    healthy(server)


def test_a_slow_reader_whose_advisor_keeps_writing_is_dropped(server: LiveServer) -> None:
    slow, slow_staff, slow_id = chatting(server, receive_buffer=4096)
    neighbour, staff, conversation_id = chatting(server)
    before = rss(server)
    text = "\u00e9" * 4000  # 24 KB a frame as JSON escapes it
    # The limit, and more than the kernel may hold for the connection (the sender's buffer
    # grows up to tcp_wmem's maximum); the advisor reads their replies, the visitor never reads
    # again. (daphne alone would ping a silent reader and drop it after ~50 s.)
    kernel = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    count = (2 * OUTBOUND_LIMIT_BYTES + kernel) // (6 * len(text))
    started = time.monotonic()
    for n in range(count):
        slow_staff.ok("message.send", conversation_id=slow_id, client_msg_id=f"w{n}", text=text)
        time.sleep(1 / RATE)  # inside the advisor's rate limit
        if n % 20 == 0:
            round_trip(neighbour, staff, conversation_id, f"w{n}")
    assert dropped(slow, SLOW_READER_SECONDS + 10), "the slow reader was not dropped"
    assert time.monotonic() - started < count / RATE + SLOW_READER_SECONDS + 10
    assert rss(server) - before < MEMORY_BOUND
    round_trip(neighbour, staff, conversation_id, "after")
    # The advisor's side is intact, and the visitor may come back for the rest.
    slow_staff.send_json({"type": "ping", "id": "alive"})
    slow_staff.expect(type="pong", id="alive")
    for client in (slow, slow_staff, neighbour, staff):
        client.close()


# --- (b) floods ---------------------------------------------------------------------------------


@pytest.mark.parametrize("socket_kind", ["visitor", "staff"])
def test_a_flood_is_rate_limited_then_closed_with_4008(server: LiveServer, socket_kind: str) -> None:
    neighbour, staff, conversation_id = chatting(server)
    flooder = visitor(server) if socket_kind == "visitor" else advisor(server)
    spent = 0 if socket_kind == "visitor" else 2  # a console's hello and availability.set
    for n in range(BURST + 5 * STRIKES):
        flooder.send_json({"type": "ping", "id": f"p{n}"})
    pongs, limited = 0, 0
    with pytest.raises(Closed) as closed:
        while True:
            message = flooder.receive()
            if message["type"] == "pong":
                pongs += 1
            elif message["type"] == "reply":
                assert message["error"]["code"] == "rate_limited", message
                limited += 1
            # (a console also hears of queues and staff meanwhile)
    assert closed.value.code == 4008
    assert BURST - spent <= pongs < BURST + 2 * STRIKES  # the bucket refills a little meanwhile
    assert limited == STRIKES
    round_trip(neighbour, staff, conversation_id, "after-flood")
    for client in (flooder, neighbour, staff):
        client.close()


# --- (c) oversized and broken frames ---------------------------------------------------------------


@pytest.mark.parametrize("sender", ["visitor", "console"])
def test_a_frame_over_64_kb_gets_frame_too_large_and_1009(server: LiveServer, sender: str) -> None:
    # The console's socket sits behind Channels' session middleware, which wraps daphne's send:
    # its oversized frame was answered with 1011 until the socket looked through the wrapper.
    client, staff, conversation_id = chatting(server)
    big, other = (client, staff) if sender == "visitor" else (staff, client)
    big.send_frame(
        b'{"type":"message.send","id":"big","conversation_id":"'
        + conversation_id.encode()
        + b'","client_msg_id":"big","text":"'
        + b"x" * 70_000
        + b'"}'
    )
    reply = big.expect(type="reply", ok=False)
    assert reply["error"]["code"] == "frame_too_large"
    assert big.expect_closed() == 1009
    other.send_json({"type": "ping", "id": "alive"})
    other.expect(type="pong", id="alive")
    client.close()
    staff.close()
    healthy(server)


@pytest.mark.parametrize(
    "attack",
    ["over daphne's limit", "fragments over daphne's limit", "announced 1 GB", "binary over daphne's limit"],
)
def test_frames_over_daphnes_limit_are_refused_before_they_are_buffered(server: LiveServer, attack: str) -> None:
    neighbour, staff, conversation_id = chatting(server)
    before = rss(server)
    client = visitor(server)
    client.ok("hello")
    big = DAPHNE_MAX_MESSAGE + 1024
    # The server may end the connection before the client has finished sending.
    with contextlib.suppress(OSError):
        if attack == "over daphne's limit":
            client.send_frame(b"x" * big)
        elif attack == "binary over daphne's limit":
            client.send_frame(b"\x00" * big, BINARY)
        elif attack == "fragments over daphne's limit":
            # Each fragment is small; the message they make is not.
            chunk = b"y" * 32_768
            for n in range(big // len(chunk) + 1):
                opcode = TEXT if n == 0 else 0x0
                client.sock.sendall(_frame(chunk, opcode, fin=False))
        else:
            # Only the header: a server that allocated what it is told would be gone already.
            client.sock.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, 1 << 30) + b"mask" + b"z" * 1000)
    # A close frame with 1009, not a dropped connection (config/server.py's close_failed_connections).
    assert client.expect_closed() == 1009
    assert rss(server) - before < MEMORY_BOUND
    round_trip(neighbour, staff, conversation_id, f"after-{attack}")
    for each in (client, neighbour, staff):
        each.close()


def test_a_text_frame_that_is_not_utf8_is_refused(server: LiveServer) -> None:
    client = visitor(server)
    client.ok("hello")
    client.send_frame(b'{"type":"ping","id":"\xff\xfe"}')
    # autobahn fails the connection with a close frame; the frame never reaches us.
    assert client.expect_closed() == 1007
    client.close()
    healthy(server)


def test_an_unmasked_frame_is_closed_with_1002(server: LiveServer) -> None:
    client = visitor(server)
    client.ok("hello")
    payload = b'{"type":"ping","id":"bare"}'
    client.sock.sendall(struct.pack("!BB", 0x81, len(payload)) + payload)  # no mask bit
    assert client.expect_closed() == 1002
    client.close()
    healthy(server)


@pytest.mark.parametrize("sender", ["visitor", "console"])
def test_a_binary_frame_is_refused_and_the_socket_stays_open(server: LiveServer, sender: str) -> None:
    client = (
        visitor(server)
        if sender == "visitor"
        else RawWebsocket(server.port, "/ws/console/", origin=server.url, cookie=advisor_cookie(server))
    )
    client.send_frame(b'{"type":"hello","id":"as-binary"}', BINARY)
    reply = client.expect(type="reply")
    assert reply["id"] is None and reply["error"]["code"] == "binary_frame"
    client.ok("hello")  # the binary hello was not read
    client.send_frame(b"\x00" * 70_000, BINARY)
    assert client.expect(type="reply", ok=False)["error"]["code"] == "frame_too_large"
    assert client.expect_closed() == 1009
    client.close()


def _frame(payload: bytes, opcode: int, *, fin: bool) -> bytes:
    mask = b"\x00\x00\x00\x00"  # a zero mask leaves the payload as it is
    first = (0x80 if fin else 0) | opcode
    # The shortest length encoding: RFC 6455 makes any other a protocol error (1002).
    if len(payload) < 126:
        head = struct.pack("!BB", first, 0x80 | len(payload))
    elif len(payload) < 2**16:
        head = struct.pack("!BBH", first, 0x80 | 126, len(payload))
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, len(payload))
    return head + mask + payload


# --- (d) guessed tokens ---------------------------------------------------------------------------


def test_guessed_tokens_and_other_visitors_ids_are_refused_alike(server: LiveServer) -> None:
    owner, staff, conversation_id = chatting(server)
    _, token, other_id = queued(server)
    guesses = [
        *(secrets.token_urlsafe(32) for _ in range(10)),
        conversation_id,  # a conversation id is not a token
        other_id.replace("-", ""),
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character off a real token
        token.upper() if token.upper() != token else token.lower(),
    ]
    answers = set()
    for guess in guesses:
        guesser = visitor(server)
        request_id = guesser.request("hello", token=guess)
        reply = guesser.expect(type="reply", id=request_id)
        assert guesser.expect_closed() == 4001
        answers.add((reply["ok"], reply["error"]["code"], reply["error"]["message"], reply["result"]))
        guesser.close()
    # One answer for every guess: nothing tells a near miss from a wild one.
    assert len(answers) == 1, answers
    ok, code, _, result = answers.pop()
    assert (ok, code, result) == (False, "invalid_token", None)
    # Naming someone else's conversation is not a thing a visitor can do.
    stranger = visitor(server)
    stranger.ok("hello")
    request_id = stranger.request("sync", last_seq=0, conversation_id=conversation_id)
    assert stranger.expect(type="reply", id=request_id)["error"]["code"] == "invalid"
    request_id = stranger.request("message.send", client_msg_id="x", text="hi", conversation_id=conversation_id)
    assert stranger.expect(type="reply", id=request_id)["error"]["code"] == "invalid"
    round_trip(owner, staff, conversation_id, "after-guesses")
    # The real token still works.
    back = visitor(server)
    assert back.ok("hello", token=token)["conversation_id"] == other_id
    for client in (owner, staff, stranger, back):
        client.close()


# --- (e) spoofed origins --------------------------------------------------------------------------


def spoofed_origins(server: LiveServer) -> list[str | None]:
    return [
        "https://evil.example",
        f"{server.url}.evil.example",
        f"http://evil.example/{server.url}",
        f"https://127.0.0.1:{server.port}",  # our host, the wrong scheme
        f"http://127.0.0.1:{server.port + 1}",
        "null",
        None,
    ]


@pytest.mark.parametrize("path", ["/ws/visitor/", "/ws/console/"])
def test_other_origins_are_refused_at_the_handshake(server: LiveServer, path: str) -> None:
    cookie = advisor_cookie(server) if path == "/ws/console/" else None
    for origin in spoofed_origins(server):
        with pytest.raises(Refused) as refused:
            RawWebsocket(server.port, path, origin=origin, cookie=cookie)
        # 403 from our origin check; 400 when autobahn cannot even parse the header.
        status = refused.value.status_line.split(" ")[1]
        assert status in ("403", "400"), (origin, refused.value.status_line)
    # The same request from our own origin is let in.
    allowed = RawWebsocket(server.port, path, origin=server.url, cookie=cookie)
    allowed.ok("hello")
    allowed.close()


# --- (f) queue snapshots over the wire -----------------------------------------------------------


def test_every_console_hears_a_queue_change_written_straight_to_its_connection(server: LiveServer) -> None:
    # Under daphne a snapshot is framed once and written to each console of the process from
    # the process's own queue channel (chat.engine.queueing), not sent through a task per console.
    consoles = [advisor(server) for _ in range(3)]
    client, _, conversation_id = queued(server)
    for console in consoles:
        deadline = time.monotonic() + 10
        while True:
            snapshot = console.expect(timeout=max(0.1, deadline - time.monotonic()), type="queue", queue="general")
            if conversation_id in [entry["conversation_id"] for entry in snapshot["entries"]]:
                break
        # The console's own requests are answered as before.
        console.send_json({"type": "ping", "id": "after"})
        console.expect(type="pong", id="after")
    consoles[0].ok("conversation.accept", conversation_id=conversation_id)
    deadline = time.monotonic() + 10  # the take, seen by another console
    while conversation_id in [entry["conversation_id"] for entry in snapshot["entries"]]:
        snapshot = consoles[1].expect(timeout=max(0.1, deadline - time.monotonic()), type="queue", queue="general")
    for socket in (client, *consoles):
        socket.close()
