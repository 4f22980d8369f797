"""The benchmark's writing relay (bench/relay.py): a frame is stored under its own key before
the other socket of the pair receives it, and a frame sent again is neither stored nor
broadcast twice."""

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from bench.relay import TABLE_DDL, BenchWritingRelayConsumer
from tests.support.loops import runs_on_own_loop

# The relay writes on Channels' database thread.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def relay_table(transactional_db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(TABLE_DDL)


@database_sync_to_async
def stored(body: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM bench_relay_message WHERE body = %s", [body])
        return int(cursor.fetchone()[0])


async def joined(pair: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(BenchWritingRelayConsumer.as_asgi(), "/ws/bench-relay-write/")
    connected, _ = await socket.connect()
    assert connected
    await socket.send_to(text_data=json.dumps({"join": pair}))
    assert json.loads(await socket.receive_from()) == {"joined": pair}
    return socket


@runs_on_own_loop
async def test_a_frame_is_stored_once_and_reaches_the_other_socket_once(relay_table: None) -> None:
    pair = uuid.uuid4().hex
    sender, reader = await joined(pair), await joined(pair)
    body = f"r|{uuid.uuid4().hex}|1.0"
    await sender.send_to(text_data=json.dumps({"body": body}))
    assert json.loads(await reader.receive_from()) == {"body": body}
    assert await stored(body) == 1

    await sender.send_to(text_data=json.dumps({"body": body}))  # the same frame again
    after = f"r|{uuid.uuid4().hex}|2.0"
    await sender.send_to(text_data=json.dumps({"body": after}))
    assert json.loads(await reader.receive_from()) == {"body": after}  # not the repeat
    assert await stored(body) == 1
    assert await sender.receive_nothing()  # the sender hears nothing of its own frames
    await sender.disconnect()
    await reader.disconnect()
