"""The baseline: a bare Channels relay on the same server and channel layer, no database.

A client joins a group and sends frames; every other member of the group receives them. The
benchmark drives it exactly like the chat so every figure has something to be compared with.
Only routed when BENCH_RELAY=1.
"""

import json
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer


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
