"""Every bad input of the realtime core: a clear error or close code, nothing stored, and the
conversation beside it unaffected."""

import json
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.utils import timezone

from chat.models import Conversation, Message, Visitor
from config.asgi import application
from tests import factories
from tests.support.ws import (
    ORIGIN,
    ProtocolClient,
    advisor_on_shift,
    queued_visitor,
    session_cookie,
    staff_socket,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def message_count() -> int:
    return await Message.objects.acount()


async def chatting() -> tuple[ProtocolClient, ProtocolClient, str]:
    """A visitor and an advisor already talking (the conversation beside the bad input)."""
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.expect("entry", event="assigned")
    return visitor, advisor, conversation_id


async def still_flows(visitor: ProtocolClient, advisor: ProtocolClient, marker: str) -> None:
    await visitor.ok("message.send", client_msg_id=f"ok-{marker}", text=f"still here {marker}")
    await advisor.expect("entry", text=f"still here {marker}")


BAD_FRAMES: list[tuple[str, str]] = [
    ("not json at all", "bad_json"),
    ("[1, 2, 3]", "bad_json"),
    ("42", "bad_json"),
    ('"hello"', "bad_json"),
    ("{}", "unknown_type"),
    ('{"type": "launch_missiles", "id": "x"}', "unknown_type"),
    ('{"type": "message.send", "id": "x", "client_msg_id": "a"}', "invalid"),
    ('{"type": "message.send", "id": "x", "client_msg_id": "a", "text": "hi", "admin": true}', "invalid"),
    ('{"type": "message.send", "id": "x", "client_msg_id": 7, "text": "hi"}', "invalid"),
    ('{"type": "message.send", "id": "x", "client_msg_id": "a b c", "text": "hi"}', "invalid"),
    ('{"type": "message.send", "id": "x", "client_msg_id": "a", "text": ""}', "invalid"),
    ('{"type": "receipt", "seq": -1, "status": "read"}', "invalid"),
    ('{"type": "receipt", "seq": 1, "status": "seen"}', "invalid"),
]


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES)
async def test_malformed_frames_get_a_clear_error_and_store_nothing(setup_queues: None, frame: str, code: str) -> None:
    visitor, advisor, _ = await chatting()
    before = await message_count()
    await visitor.send_raw(frame)
    reply = await visitor.expect("reply", ok=False)
    assert reply["error"]["code"] == code, reply
    assert reply["error"]["message"]
    assert await message_count() == before
    await still_flows(visitor, advisor, "after")
    await visitor.close()
    await advisor.close()


async def test_unknown_field_is_named(setup_queues: None) -> None:
    visitor = await visitor_socket().connect()
    await visitor.send({"type": "hello", "id": "h", "tokn": "x" * 20})
    reply = await visitor.expect("reply", id="h")
    assert reply["error"] == {"code": "invalid", "message": "Unknown field 'tokn'."}
    await visitor.close()


async def test_binary_frame_is_refused(setup_queues: None) -> None:
    visitor = await visitor_socket().connect()
    await visitor.communicator.send_to(bytes_data=b"\x00\x01binary")
    assert (await visitor.expect("reply", ok=False))["error"] == {
        "code": "binary_frame",
        "message": "Binary frames are not read (the protocol is JSON text frames); the socket stays open.",
    }
    # Not read even when it holds a valid message as UTF-8.
    await visitor.communicator.send_to(bytes_data=b'{"type":"hello","id":"b"}')
    assert (await visitor.expect("reply", ok=False))["error"]["code"] == "binary_frame"
    await visitor.ok("hello")
    await visitor.close()


async def test_text_length_limit(setup_queues: None) -> None:
    visitor, advisor, _ = await chatting()
    before = await message_count()
    assert await visitor.error("message.send", client_msg_id="long", text="x" * 4001) == "text_too_long"
    assert await message_count() == before
    exact = await visitor.ok("message.send", client_msg_id="exact", text="y" * 4000)
    assert (
        len(
            (
                await Message.objects.aget(conversation_id=exact["conversation_id"], seq__gt=0, client_msg_id="exact")
            ).text
        )
        == 4000
    )
    assert (
        await advisor.error(
            "message.send", conversation_id=exact["conversation_id"], client_msg_id="n", text="z" * 4001, kind="note"
        )
        == "text_too_long"
    )
    await visitor.close()
    await advisor.close()


async def test_oversized_frame_closes_with_1009(setup_queues: None) -> None:
    visitor, advisor, _ = await chatting()
    before = await message_count()
    frame = json.dumps({"type": "message.send", "id": "big", "client_msg_id": "big", "text": "x" * 70_000})
    await visitor.send_raw(frame)
    assert (await visitor.expect("reply", ok=False))["error"]["code"] == "frame_too_large"
    assert await visitor.expect_closed() == 1009
    assert await message_count() == before
    # The advisor's side is untouched.
    await advisor.send({"type": "ping", "id": "alive"})
    await advisor.expect("pong", id="alive")
    await visitor.close()
    await advisor.close()


async def test_rate_limit_then_flood_disconnect(setup_queues: None, settings: Any) -> None:
    visitor, advisor, conversation_id = await chatting()
    settings.CHAT = {**settings.CHAT, "RATE_PER_SECOND": 1.0, "RATE_BURST": 5.0, "FLOOD_STRIKES": 10}
    flooder = await visitor_socket().connect()  # a new socket gets the new limits
    for n in range(40):
        await flooder.send({"type": "ping", "id": f"p{n}"})
    limited = [await flooder.expect("reply", ok=False) for _ in range(5)]
    assert {m["error"]["code"] for m in limited} == {"rate_limited"}
    assert await flooder.expect_closed() == 4008
    # Nobody else is slowed down.
    await visitor.ok("message.send", client_msg_id="calm", text="calm")
    await advisor.expect("entry", text="calm")
    assert await Conversation.objects.filter(pk=conversation_id, state="active").aexists()
    await visitor.close()
    await advisor.close()


async def test_visitor_must_say_hello_once(setup_queues: None) -> None:
    visitor = await visitor_socket().connect()
    assert await visitor.error("conversation.start") == "hello_required"
    await visitor.ok("hello")
    assert await visitor.error("hello") == "already_said_hello"
    await visitor.close()


async def test_wrong_and_expired_tokens_close_the_socket(setup_queues: None) -> None:
    _, token, conversation_id = await queued_visitor()
    guesser = await visitor_socket().connect()
    assert await guesser.error("hello", token="A" * 43) == "invalid_token"
    assert await guesser.expect_closed() == 4001
    # A guess never reaches anybody's conversation.
    assert not [m for m in guesser.inbox if m.get("type") in ("entry", "status")]

    await Visitor.objects.filter(conversations__pk=conversation_id).aupdate(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    late = await visitor_socket().connect()
    assert await late.error("hello", token=token) == "token_expired"
    assert await late.expect_closed() == 4002
    fresh = await visitor_socket().connect()
    assert "token" in await fresh.ok("hello")
    await fresh.close()


async def test_visitor_state_errors(setup_queues: None) -> None:
    visitor = await visitor_socket().connect()
    await visitor.ok("hello")
    assert await visitor.error("message.send", client_msg_id="a", text="hi") == "no_conversation"
    await visitor.ok("conversation.start")
    assert await visitor.error("conversation.start") == "conversation_open"
    assert await visitor.error("message.send", client_msg_id="a", text="too soon") == "invalid_state"
    assert not await Message.objects.filter(client_msg_id="a").aexists()
    await visitor.ok("triage.submit", answers={"safe_to_talk": "yes", "in_danger": "no", "about": "myself"})
    assert (
        await visitor.error("triage.submit", answers={"safe_to_talk": "yes", "in_danger": "no", "about": "myself"})
        == "invalid_state"
    )
    await visitor.ok("conversation.end")
    assert await visitor.error("message.send", client_msg_id="b", text="after") == "no_conversation"
    await visitor.close()


async def test_staff_socket_without_staff_session_is_closed(setup_queues: None) -> None:
    anonymous = await (await staff_socket(None)).connect()
    assert await anonymous.expect_closed() == 4003
    outsider = await sync_to_async(get_user_model().objects.create_user)(username="outsider", password="x-pw-123456")
    cookie = await session_cookie(outsider)
    stranger = ProtocolClient(
        WebsocketCommunicator(application, "/ws/console/", headers=[(b"origin", ORIGIN), (b"cookie", cookie.encode())])
    )
    await stranger.connect()
    assert await stranger.expect_closed() == 4003
    inactive = await sync_to_async(factories.staff)()
    cookie = await session_cookie(inactive)
    await get_user_model().objects.filter(pk=inactive.pk).aupdate(is_active=False)
    gone = ProtocolClient(
        WebsocketCommunicator(application, "/ws/console/", headers=[(b"origin", ORIGIN), (b"cookie", cookie.encode())])
    )
    await gone.connect()
    assert await gone.expect_closed() == 4003


async def test_advisor_cannot_act_on_someone_elses_conversation(setup_queues: None) -> None:
    visitor, owner, conversation_id = await chatting()
    intruder_user = await sync_to_async(factories.staff)()
    intruder = await advisor_on_shift(intruder_user)
    before = await message_count()
    assert (
        await intruder.error("message.send", conversation_id=conversation_id, client_msg_id="i", text="hi")
        == "not_found"
    )
    assert await intruder.error("conversation.end", conversation_id=conversation_id) == "not_found"
    assert (
        await intruder.error("transfer.offer", conversation_id=conversation_id, to_user_id=intruder_user.pk)
        == "not_found"
    )
    assert await intruder.error("conversation.requeue", conversation_id=conversation_id) == "not_found"
    assert await intruder.error("sync", conversation_id=conversation_id, last_seq=0) == "not_found"
    assert await intruder.error("supervise.monitor", conversation_id=conversation_id) == "not_found"
    assert await intruder.error("receipt", conversation_id=conversation_id, seq=1) == "not_found"
    assert await intruder.error("typing", conversation_id=conversation_id, active=True) == "not_holder"
    unknown = "00000000-0000-0000-0000-000000000000"
    assert await intruder.error("conversation.accept", conversation_id=unknown) == "not_found"
    assert await message_count() == before
    await intruder.drain()
    assert not [m for m in intruder.inbox if m.get("conversation_id") == conversation_id]
    await still_flows(visitor, owner, "owner")
    for client in (visitor, owner, intruder):
        await client.close()


async def test_role_and_queue_limits(setup_queues: None) -> None:
    visitor, advisor, conversation_id = await chatting()
    assert await advisor.error("supervise.monitor", conversation_id=conversation_id) == "forbidden"
    code = await advisor.error(
        "message.send", conversation_id=conversation_id, client_msg_id="w", text="x", kind="whisper"
    )
    assert code == "forbidden"
    other_queue_advisor = await advisor_on_shift(await sync_to_async(factories.staff)(queues_=["perpetrator"]))
    waiting, _, waiting_id = await queued_visitor()
    assert await other_queue_advisor.error("conversation.accept", conversation_id=waiting_id) == "not_found"
    assert await other_queue_advisor.error("queue.take_next") == "queue_empty"
    for client in (visitor, advisor, other_queue_advisor, waiting):
        await client.close()


@pytest.mark.parametrize("path", ["/ws/visitor/", "/ws/console/"])
@pytest.mark.parametrize("origin", [b"https://evil.example", b"http://127.0.0.1:8000.evil.example", None])
async def test_sockets_from_other_origins_are_refused(setup_queues: None, path: str, origin: bytes | None) -> None:
    headers = [(b"origin", origin)] if origin is not None else []
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


async def test_quick_exit_by_http_when_the_socket_is_down(setup_queues: None) -> None:
    from django.test import AsyncClient

    visitor, advisor, conversation_id = await chatting()
    client = AsyncClient()
    assert (
        await client.post("/chat/quick-exit/", data=b"not json", content_type="application/json")
    ).status_code == 204
    assert (
        await client.post("/chat/quick-exit/", {"token": "x" * 40}, content_type="application/json")
    ).status_code == 204
    assert await Conversation.objects.filter(pk=conversation_id, state="active").aexists()
    assert (await client.get("/chat/quick-exit/")).status_code == 405
    await visitor.close()
    await advisor.close()


async def test_quick_exit_by_http_ends_the_chat(setup_queues: None) -> None:
    from django.test import AsyncClient

    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, token, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    response = await AsyncClient().post("/chat/quick-exit/", {"token": token}, content_type="application/json")
    assert response.status_code == 204 and response.content == b""
    await advisor.expect("entry", event="quick_exit")
    assert (await Conversation.objects.aget(pk=conversation_id)).close_reason == "quick_exit"
    again = await AsyncClient().post("/chat/quick-exit/", {"token": token}, content_type="application/json")
    assert again.status_code == 204
    await visitor.close()
    await advisor.close()
