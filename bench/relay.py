"""The baselines: a bare Channels relay on the same server and channel layer, no database; and
the same relay writing each frame to the database first.

A client joins a group and sends frames; every other member of the group receives them. The
benchmark drives it exactly like the chat so every figure has something to be compared with.

The writing relay keeps the two delivery guarantees that make a chat message cost more than a
relayed frame (design/architecture.md: a message is stored, under a unique key, before it is
broadcast; broadcasts go out after the transaction commits), on the product's own hand-over to
the database thread (`chat.engine.events.batched_database_call`), and does nothing else: no checks,
no acknowledgement, no sequence number. The chat's ratio to it is what the product adds to
what those guarantees cost. Its table is made by `bench.prepare`.

Only routed when BENCH_RELAY=1.
"""

import json
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import IntegrityError, connection, transaction

from chat.engine.events import batched_database_call, emit_on_commit

# The frame itself is the key: the load generator's frames each carry a message id of their own.
TABLE_DDL = "CREATE TABLE IF NOT EXISTS bench_relay_message (body VARCHAR(200) PRIMARY KEY)"


class BenchRelayConsumer(AsyncWebsocketConsumer):
    group: str | None = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message = json.loads(text_data or "{}")
        if "join" in message:
            self.group = f"bench.{message['join']}"
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.send(text_data=json.dumps({"joined": message["join"]}))
        elif self.group is not None:
            await self.channel_layer.group_send(
                self.group, {"type": "relay.message", "body": message.get("body", ""), "from": self.channel_name}
            )

    async def relay_message(self, event: dict[str, Any]) -> None:
        if event["from"] != self.channel_name:
            await self.send(text_data=json.dumps({"body": event["body"]}))

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)


def _store_then_broadcast(group: str, sender: str, body: str) -> None:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_relay_message (body) VALUES (%s)", [body])
            emit_on_commit([(group, {"type": "relay.message", "body": body, "from": sender})])
    except IntegrityError:
        return  # a frame sent again: stored and broadcast the first time


store_then_broadcast = batched_database_call(_store_then_broadcast)


class BenchWritingRelayConsumer(BenchRelayConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message = json.loads(text_data or "{}")
        if "join" in message or self.group is None:
            await super().receive(text_data, bytes_data)
        else:
            await store_then_broadcast(self.group, self.channel_name, str(message.get("body", ""))[:200])
