"""`/metrics` counts every frame a socket receives, by outcome: those answered with an error and
those refused before they are read count as well as those handled, so the count matches what
clients sent."""

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from chat.consumers import staff as staff_consumers
from chat.metrics import FRAMES_RECEIVED
from tests import factories
from tests.support.ws import staff_socket, visitor_socket

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "chat_frames_received_total"


def count(socket: str, type_: str, outcome: str) -> float:
    # The counter alone: the whole registry would read the database too (its gauges).
    wanted = {"socket": socket, "type": type_, "outcome": outcome}
    for family in FRAMES_RECEIVED.collect():
        for sample in family.samples:
            if sample.name == NAME and sample.labels == wanted:
                return sample.value
    return 0.0


def counts(socket: str, *keys: tuple[str, str]) -> dict[tuple[str, str], float]:
    return {key: count(socket, *key) for key in keys}


@pytest.fixture
def setup_queues(db: None) -> None:
    factories.queues()


async def test_every_visitor_frame_is_counted_by_outcome(setup_queues: None) -> None:
    keys = (
        ("hello", "hello_required"),
        ("hello", "ok"),
        ("-", "bad_json"),
        ("-", "unknown_type"),
        ("-", "binary_frame"),
        ("message.send", "invalid"),
        ("message.send", "no_conversation"),
        ("conversation.end", "hello_required"),
        ("ping", "ok"),
    )
    before = counts("visitor", *keys)
    visitor = await visitor_socket().connect()
    assert await visitor.error("conversation.end") == "hello_required"
    await visitor.ok("hello")
    await visitor.send_raw("{not json")
    await visitor.expect("reply", ok=False)
    await visitor.send({"type": "no.such.thing", "id": "x1"})
    await visitor.expect("reply", id="x1")
    await visitor.send({"type": ["a", "list"], "id": "x2"})  # not a string: counted as `-`
    await visitor.expect("reply", id="x2")
    await visitor.communicator.send_to(bytes_data=b"\x00\x01")
    await visitor.expect("reply", ok=False)
    assert await visitor.error("message.send", client_msg_id="m1", text="x", extra="no") == "invalid"
    assert await visitor.error("message.send", client_msg_id="m2", text="hello") == "no_conversation"
    await visitor.send({"type": "ping", "id": "p1"})
    await visitor.expect("pong", id="p1")
    await visitor.close()
    after = counts("visitor", *keys)
    delta = {key: after[key] - before[key] for key in keys}
    assert delta == {
        ("hello", "hello_required"): 0,
        ("conversation.end", "hello_required"): 1,
        ("hello", "ok"): 1,
        ("-", "bad_json"): 1,
        ("-", "unknown_type"): 2,
        ("-", "binary_frame"): 1,
        ("message.send", "invalid"): 1,
        ("message.send", "no_conversation"): 1,
        ("ping", "ok"): 1,
    }
    text = await sync_to_async(lambda: Client().get("/metrics").content.decode())()
    assert f'{NAME}{{outcome="no_conversation",socket="visitor",type="message.send"}}' in text


async def test_a_console_frame_refused_for_an_ended_session_is_counted(setup_queues: None, monkeypatch: Any) -> None:
    user = await sync_to_async(factories.staff)()
    console = await (await staff_socket(user)).connect()
    await console.ok("hello")
    before = count("staff", "-", "session_ended")
    monkeypatch.setattr(staff_consumers, "HEARTBEAT_WRITE_INTERVAL", -1.0)  # re-checked on every frame
    await sync_to_async(get_user_model().objects.filter(pk=user.pk).update)(is_active=False)
    await console.send({"type": "ping", "id": "p1"})
    assert await console.expect_closed() == 4010
    assert count("staff", "-", "session_ended") - before == 1
