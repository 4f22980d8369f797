"""The protocol client the benchmarks and the live tests share (harness/client.py), against a
real daphne: a reply is matched to its request, the sender's own entry comes before the reply,
a refusal is an error with its code, and a socket that closes before the reply is said so."""

from typing import Any

import pytest

from harness.client import Client, Closed, Refused, open_socket
from tests.support.live import LiveServer
from tests.support.loops import on_own_loop

TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "help": []}


async def visitor(server: LiveServer, seen: list[dict[str, Any]]) -> Client:
    ws = await open_socket(f"{server.ws_url}/ws/visitor/", origin=server.url)
    return Client(ws, seen.append, name="t", timeout=10)


def test_replies_match_their_requests_and_the_own_entry_comes_first(server: LiveServer) -> None:
    async def chat() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        client = await visitor(server, seen)
        assert (await client.ok("hello"))["token"]
        started = await client.ok("conversation.start")
        await client.ok("triage.submit", answers=TRIAGE)
        reply = await client.request("message.send", client_msg_id="h-1", text="hello?")
        await client.close()
        return seen, started, reply

    seen, started, reply = on_own_loop(chat())
    assert reply["ok"] and reply["id"].startswith("t")
    entries = [m for m in seen if m.get("type") == "entry" and m.get("client_msg_id") == "h-1"]
    assert len(entries) == 1 and entries[0]["conversation_id"] == started["conversation_id"]
    assert entries[0] == reply["result"]["entry"]
    assert not [m for m in seen if m.get("type") == "reply"]  # each went to its request


def test_a_refusal_is_an_error_with_its_code(server: LiveServer) -> None:
    async def refused() -> Refused:
        client = await visitor(server, [])
        with pytest.raises(Refused) as caught:
            await client.ok("conversation.start")
        await client.close()
        return caught.value

    error = on_own_loop(refused())
    assert error.code == "hello_required"
    assert error.reply["ok"] is False


def test_a_socket_closed_before_the_reply_says_so_with_its_code(server: LiveServer) -> None:
    async def oversized() -> Closed:
        client = await visitor(server, [])
        await client.ok("hello")
        with pytest.raises(Closed) as caught:
            await client.request("message.send", client_msg_id="big", text="x" * 300_000)
        await client.closed.wait()
        return caught.value

    assert on_own_loop(oversized()).code == 1009
