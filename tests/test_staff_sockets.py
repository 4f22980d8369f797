"""Closing a staff member's console sockets (sign-out, idle timeout, access revoked) goes to their
group on the channel layer, and an unreachable layer neither fails the sign-out nor goes
unreported: the sockets then close at their next access check."""

import asyncio
import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from agents import services
from agents.services import staff_group, staff_sockets_close


def test_the_close_reaches_every_socket_of_that_staff_member_only() -> None:
    layer = get_channel_layer()
    assert layer is not None

    async def scenario() -> None:
        # One event loop throughout: the Redis layer hears a channel only on the loop that made
        # it. The close runs in a thread of its own, as a view's would, and sends on this loop.
        mine, theirs = await layer.new_channel(), await layer.new_channel()
        await layer.group_add(staff_group(7), mine)
        await layer.group_add(staff_group(8), theirs)
        await sync_to_async(staff_sockets_close, thread_sensitive=False)(user_id=7, reason="signed_out")
        closing = await asyncio.wait_for(layer.receive(mine), timeout=10)
        assert closing == {"type": "chat.force_close", "reason": "signed_out"}
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(theirs), timeout=0.2)

    async_to_sync(scenario)()


class _Unreachable:
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        raise OSError("connection refused")


def test_an_unreachable_layer_is_logged_and_the_caller_carries_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(services, "get_channel_layer", _Unreachable)
    with caplog.at_level(logging.WARNING, logger="agents.services"):
        staff_sockets_close(user_id=7, reason="idle")
    assert "console sockets of a staff member not closed" in caplog.text
    assert caplog.records[-1].exc_info is not None
