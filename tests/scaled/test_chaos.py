"""Failure injection, the fast ones: the same scenarios as `make chaos` (bench/chaos/), each on
its own database and its own redis-server with real daphne processes; each passes only with
nothing lost, nothing duplicated and every chat hit by the fault recovering.

`make chaos` runs all six with their figures; the daphne SIGKILL is also
test_multiprocess.py, the advisor's grace period at the consumer level test_presence.py.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from bench.chaos.runner import describe, run_scenario
from bench.chaos.stack import Template, template_database
from chat.engine import presence

pytestmark = pytest.mark.scaled


@pytest.fixture(scope="module")
def template() -> Iterator[Template]:
    """One migrated database for the module; each scenario runs on a copy of its own."""
    with template_database() as template:
        yield template


def passes(template: Template, scenario: str, **sizes: Any) -> dict[str, Any]:
    result = run_scenario(template, scenario, **sizes)
    print(describe(result))  # noqa: T201 - the figures, shown with -s or on failure
    assert result["passed"], result["failures"]
    assert result["lost"] == 0 and result["duplicated"] == 0
    return result


def test_database_connections_dropped_mid_chat(template: Template) -> None:
    """Every backend of the chat's database terminated twice, 0.5 s apart, while both sides talk."""
    result = passes(template, "c-database-dropped", chats=3, after=2.0)
    assert result["backends_terminated"] > 0
    assert result["server_processes_alive"] == 2


def test_client_network_cut_and_restored(template: Template) -> None:
    """A visitor's and an advisor's TCP connections go silent for 3 s (no close frame, no reset);
    the server learns that only after the clients are back on new sockets."""
    result = passes(template, "d-network-cut", chats=2, after=2.0)
    assert result["reconnects"] >= 2 and result["stale_connections_reset"] >= 2
    assert result["conversation_states"] == {"active": 2}


def test_advisor_gone_past_grace_chats_go_to_another_advisor(template: Template) -> None:
    """Real processes and a reset connection (test_presence.py has the consumer-level rules):
    the visitors keep writing throughout, and the advisor who takes over sees all of it."""
    result = passes(template, "e-advisor-past-grace", chats=2, after=2.0)
    assert result["taken_over"] == result["chats_of_gone_advisor"] == 1


def test_the_presence_heartbeat_outlives_a_redis_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed write (Redis down) must not end the loop: without a heartbeat once Redis is back,
    the grace sweep takes every visitor of the process for gone."""
    calls: list[str] = []
    beating_again = asyncio.Event()

    def beat() -> None:
        calls.append("beat")
        if len(calls) == 1:
            raise ConnectionError("Redis is restarting")
        if len(calls) == 3:
            loop.call_soon_threadsafe(beating_again.set)

    monkeypatch.setattr(presence, "beat", beat)
    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 0.01)

    loop = asyncio.new_event_loop()

    async def run() -> None:
        beating = asyncio.create_task(presence._beat_forever())
        try:
            await asyncio.wait_for(beating_again.wait(), 5)
        finally:
            beating.cancel()

    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
    assert len(calls) >= 3


@pytest.mark.django_db(transaction=True)
async def test_a_message_is_sent_while_the_channel_layer_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored means sent: a broadcast that cannot reach Redis must not turn the reply into an
    error (the sender would retype it, and it would be stored twice)."""
    from asgiref.sync import sync_to_async
    from redis.exceptions import ConnectionError as RedisConnectionError

    from chat.engine import events
    from chat.models import Message
    from tests import factories
    from tests.support.ws import advisor_on_shift, queued_visitor

    await sync_to_async(factories.queues)()
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)

    async def redis_down(batch: list[events.Event]) -> None:
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(events, "send_all", redis_down)
    sent = await visitor.ok("message.send", client_msg_id="while-down", text="are you there?")
    assert await Message.objects.filter(client_msg_id="while-down").acount() == 1
    monkeypatch.undo()
    # The advisor gets it with the next entry (a gap makes the socket replay from the database).
    await visitor.ok("message.send", client_msg_id="after", text="hello?")
    missed = await advisor.expect("entry", client_msg_id="while-down", timeout=10)
    assert missed["seq"] < (await advisor.expect("entry", client_msg_id="after", timeout=10))["seq"]
    assert sent["seq"]
    await visitor.close()
    await advisor.close()
