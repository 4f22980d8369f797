"""Blocks against a real daphne started as deploy/ starts it behind the proxy (`--proxy-headers`):
the connection a block matches is the visitor's address as the proxy names it
(`X-Forwarded-For`), not the proxy's own, so blocking one visitor's connection leaves everyone
else behind the same proxy served; and the address is nowhere in the database."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import LiveServer, embedded_server
from tests.support.rawws import RawWebsocket

TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "language": "en", "help": ["housing"]}
ABUSER, NEIGHBOUR = "203.0.113.50", "198.51.100.23"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = embedded_server(tmp_path_factory.mktemp("blocks"))
    live.daphne_args = ["--proxy-headers"]
    live.start()
    yield live
    live.stop()


def from_address(server: LiveServer, address: str) -> RawWebsocket:
    return RawWebsocket(server.port, "/ws/visitor/", origin=server.url, headers={"X-Forwarded-For": address})


def advisor(server: LiveServer) -> RawWebsocket:
    out = server.shell(
        "from django.contrib.auth import get_user_model; from agents.models import StaffProfile; "
        "from chat.models import Queue; from tests.support.ws import verified_session_cookie; "
        "u = get_user_model().objects.create_user(username='blocker', password='x-blocks-password-1'); "
        "p = StaffProfile.objects.create(user=u, role='advisor', display_name='Blocker', capacity=3); "
        "p.queues.set(Queue.objects.all()); print(verified_session_cookie(u))"
    )
    cookie = out.strip().splitlines()[-1]
    client = RawWebsocket(server.port, "/ws/console/", origin=server.url, cookie=cookie)
    client.ok("hello")
    client.ok("availability.set", availability="on_shift")
    return client


def test_a_connection_block_behind_the_proxy_matches_the_visitors_address_only(server: LiveServer) -> None:
    staff = advisor(server)
    abuser = from_address(server, ABUSER)
    abuser.ok("hello")
    conversation_id = abuser.ok("conversation.start")["conversation_id"]
    abuser.ok("triage.submit", answers=TRIAGE)
    staff.ok("conversation.accept", conversation_id=conversation_id)
    staff.ok("visitor.block", conversation_id=conversation_id, hours=24, reason="automated", connection=True)
    told = abuser.expect(type="reply", ok=False)
    assert told["error"]["code"] == "unavailable"

    again = from_address(server, ABUSER)
    again.request("hello")
    assert again.expect(type="reply")["error"]["code"] == "unavailable"
    assert again.ok("directory.lookup")["national"]  # still open for the other ways to get help
    # Someone else behind the same proxy: served.
    neighbour = from_address(server, NEIGHBOUR)
    assert "token" in neighbour.ok("hello")
    assert neighbour.ok("conversation.start")["conversation_id"]
    for client in (staff, abuser, again, neighbour):
        client.close()

    database = Path(server.env["SQLITE_PATH"])
    raw = database.read_bytes() + b"".join(p.read_bytes() for p in database.parent.glob(database.name + "-*"))
    assert ABUSER.encode() not in raw and NEIGHBOUR.encode() not in raw
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM chat_visitorblock WHERE connection").fetchone() == (1,)
