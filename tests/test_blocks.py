"""Blocks on abusive or automated visitors (chat/blocks.py), through the real ASGI application:
who may block, what a blocked visitor meets (on the socket they have, on reconnecting, with a
new session from the same connection), expiry, lifting, the audit trail, bad input, and that
no address reaches the database."""

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from agents.audit_models import AuditEvent
from chat import blocks
from chat.blocks import CONNECTION_HOURS
from chat.models import Conversation, VisitorBlock
from config.asgi import application
from config.local_cache import ExpiringLocMemCache
from tests import factories
from tests.support.ws import ORIGIN, TRIAGE, ProtocolClient, advisor_on_shift

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "203.0.113.77"
NEUTRAL = "The chat is not available right now. Please try again later."


@pytest.fixture(autouse=True)
def fresh_blocks(setup_queues: None) -> None:
    cache.clear()
    blocks._day_keys.clear()  # the keys go with the cache, as they would on a fresh deployment


def visitor_from(address: str | None) -> ProtocolClient:
    communicator = WebsocketCommunicator(application, "/ws/visitor/", headers=[(b"origin", ORIGIN)])
    if address is not None:
        communicator.scope["client"] = [address, 50000]
    return ProtocolClient(communicator)


async def chatting_from(address: str | None, advisor: ProtocolClient) -> tuple[ProtocolClient, str, str]:
    visitor = await visitor_from(address).connect()
    token = (await visitor.ok("hello"))["token"]
    conversation_id = (await visitor.ok("conversation.start"))["conversation_id"]
    await visitor.ok("triage.submit", answers=TRIAGE)
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    return visitor, token, conversation_id


async def refused(client: ProtocolClient, **hello: Any) -> None:
    """Refused neutrally; the socket stays open for the other ways to get help, and no more."""
    reply = await client.request("hello", **hello)
    assert reply["error"] == {"code": "unavailable", "message": NEUTRAL}
    assert (await client.ok("directory.lookup"))["national"] is not None
    assert (await client.ok("triage.flow"))["questions"]
    assert await client.error("conversation.start") == "hello_required"
    await client.close()


async def test_an_advisor_blocks_their_visitor_who_is_then_refused_everywhere() -> None:
    advisor_user = await sync_to_async(factories.staff)()
    advisor = await advisor_on_shift(advisor_user)
    visitor, token, conversation_id = await chatting_from(ADDRESS, advisor)

    result = await advisor.ok(
        "visitor.block",
        conversation_id=conversation_id,
        hours=24,
        reason="abusive",
        note="Threats to staff",
        connection=True,
    )
    block = result["block"]
    assert block["state"] == "active" and block["hours"] == 24 and block["connection"] is True
    assert block["created_by"] == advisor_user.staff.display_name

    # The visitor's open socket: the neutral refusal, and nothing more of the chat; nothing names a block.
    told = await visitor.expect("reply", ok=False)
    assert told["id"] is None and told["error"] == {"code": "unavailable", "message": NEUTRAL}
    assert await visitor.error("conversation.start") == "unavailable"
    assert await visitor.error("message.send", client_msg_id="after", text="hello?") == "no_conversation"
    assert (await visitor.ok("directory.lookup"))["national"] is not None
    assert not any("block" in json.dumps(frame).lower() for frame in visitor.frames)
    assert not [f for f in visitor.frames[visitor.frames.index(told) :] if f["type"] in ("entry", "status")]
    await visitor.close()
    # The chat ended, and the advisor's log says why.
    summary = await advisor.expect("conversation", conversation_id=conversation_id, state="closed")
    assert summary["close_reason"] == "blocked"
    await advisor.expect("entry", conversation_id=conversation_id, event="visitor_blocked")

    # Coming back with the same session, from anywhere: refused.
    await refused(await visitor_from("198.51.100.9").connect(), token=token)
    # A new session from the same connection: refused.
    await refused(await visitor_from(ADDRESS).connect())
    # A new session from elsewhere is someone else: served.
    other = await visitor_from("198.51.100.9").connect()
    assert "token" in await other.ok("hello")
    await other.close()

    # Audited, and no address anywhere in the database.
    event = await AuditEvent.objects.aget(action="visitor.block")
    assert event.actor_id == advisor_user.pk
    assert event.detail == {
        "block": block["block_id"],
        "conversation": conversation_id,
        "hours": 24,
        "block_reason": "abusive",
        "connection": True,
    }
    assert await sync_to_async(database_mentions)("Threats to staff")  # the search does find what is there
    assert not await sync_to_async(database_mentions)(ADDRESS)
    await advisor.close()


def database_mentions(text: str) -> bool:
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the schema
            if any(text in str(value) for row in cursor.fetchall() for value in row):
                return True
    return False


async def test_a_visitor_blocked_while_away_is_refused_on_reconnecting_and_when_starting_again() -> None:
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, token, conversation_id = await chatting_from(ADDRESS, advisor)
    # A second socket of the same connection, greeted before the block, with a session of its own.
    bot = await visitor_from(ADDRESS).connect()
    await bot.ok("hello")
    await visitor.close()
    await advisor.ok("visitor.block", conversation_id=conversation_id, hours=1, reason="automated", connection=True)
    await refused(await visitor_from(None).connect(), token=token)
    # The other socket's next chat is refused: its connection is blocked now.
    assert await bot.error("conversation.start") == "unavailable"
    await bot.close()
    await advisor.close()


async def test_without_connection_only_the_session_is_blocked() -> None:
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    _, _, conversation_id = await chatting_from(ADDRESS, advisor)
    block = (await advisor.ok("visitor.block", conversation_id=conversation_id, hours=72, reason="hoax"))["block"]
    assert block["connection"] is False
    fresh = await visitor_from(ADDRESS).connect()
    assert "token" in await fresh.ok("hello")  # a shared connection is not blocked
    await fresh.close()
    await advisor.close()


def seconds_left(key: str) -> float:
    """How long the cache keeps `key` (locmem in the embedded profile, Redis in the scaled one)."""
    if hasattr(cache, "_expire_info"):
        return float(cache._expire_info[cache.make_key(key)]) - time.time()
    client = cache._cache.get_client(key)  # type: ignore[attr-defined]
    return float(client.ttl(cache.make_and_validate_key(key)))


async def test_the_connection_part_of_a_long_block_lasts_at_most_a_day() -> None:
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    _, token, conversation_id = await chatting_from(ADDRESS, advisor)
    block_id = (
        await advisor.ok(
            "visitor.block", conversation_id=conversation_id, hours=720, reason="automated", connection=True
        )
    )["block"]["block_id"]
    key = await sync_to_async(cache.get)(f"chat:block-key:{block_id}")
    assert key.startswith("chat:blocked-connection:") and ADDRESS not in key
    left = await sync_to_async(seconds_left)(key)
    assert CONNECTION_HOURS * 3600 - 60 < left <= CONNECTION_HOURS * 3600
    # The session's block is the row's: thirty days.
    block = await VisitorBlock.objects.aget(pk=block_id)
    assert block.expires_at - block.created_at >= timedelta(days=30) - timedelta(seconds=5)
    await refused(await visitor_from("198.51.100.1").connect(), token=token)
    await advisor.close()


async def test_blocks_expire() -> None:
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    _, token, conversation_id = await chatting_from(ADDRESS, advisor)
    block_id = (
        await advisor.ok("visitor.block", conversation_id=conversation_id, hours=2, reason="abusive", connection=True)
    )["block"]["block_id"]
    await refused(await visitor_from(ADDRESS).connect(), token=token)
    await VisitorBlock.objects.filter(pk=block_id).aupdate(expires_at=timezone.now() - timedelta(seconds=1))
    back = await visitor_from(ADDRESS).connect()
    hello = await back.ok("hello", token=token)
    assert hello["conversation_id"] is None  # the blocked chat stays ended
    assert (await back.ok("conversation.start"))["conversation_id"]
    await back.close()
    # From a new session on the same connection too (the cache entry outlives the block: the row decides).
    again = await visitor_from(ADDRESS).connect()
    assert "token" in await again.ok("hello")
    await again.close()
    await advisor.close()


async def test_a_supervisor_reviews_and_lifts_a_block_and_the_lift_is_audited() -> None:
    advisor_user = await sync_to_async(factories.staff)()
    supervisor_user = await sync_to_async(factories.staff)(role="supervisor")
    advisor = await advisor_on_shift(advisor_user)
    supervisor = await advisor_on_shift(supervisor_user)
    _, token, conversation_id = await chatting_from(ADDRESS, advisor)
    block_id = (
        await advisor.ok(
            "visitor.block",
            conversation_id=conversation_id,
            hours=168,
            reason="other",
            note="Spam links",
            connection=True,
        )
    )["block"]["block_id"]

    # Supervisors hear of it at once.
    assert (await supervisor.expect("block", block_id=block_id)) == {
        "type": "block",
        "block_id": block_id,
        "state": "active",
    }
    listed = (await supervisor.ok("blocks.list"))["blocks"]
    assert [(b["block_id"], b["state"], b["note"], b["reason"]) for b in listed] == [
        (block_id, "active", "Spam links", "other")
    ]
    assert not any(key in json.dumps(listed).lower() for key in ("token", "hash", "address", "203.0"))

    lifted = (await supervisor.ok("block.lift", block_id=block_id, note="Mistaken: a survivor's partner"))["block"]
    assert lifted["state"] == "lifted" and lifted["lifted_by"] == supervisor_user.staff.display_name
    await supervisor.expect("block", block_id=block_id, state="lifted")
    assert await supervisor.error("block.lift", block_id=block_id) == "block_ended"
    event = await AuditEvent.objects.aget(action="visitor.block_lift")
    assert event.actor_id == supervisor_user.pk and event.detail == {"block": block_id, "note_given": True}

    # Lifted: the session and the connection are served again, at once.
    back = await visitor_from(ADDRESS).connect()
    await back.ok("hello", token=token)
    await back.close()
    fresh = await visitor_from(ADDRESS).connect()
    await fresh.ok("hello")
    await fresh.close()
    assert (await supervisor.ok("blocks.list"))["blocks"][0]["state"] == "lifted"
    await advisor.close()
    await supervisor.close()


async def test_who_may_block_and_lift() -> None:
    holder_user = await sync_to_async(factories.staff)()
    other_user = await sync_to_async(factories.staff)()
    supervisor_user = await sync_to_async(factories.staff)(role="supervisor")
    holder = await advisor_on_shift(holder_user)
    other = await advisor_on_shift(other_user)
    supervisor = await advisor_on_shift(supervisor_user)
    visitor, _, conversation_id = await chatting_from(ADDRESS, holder)

    # Another advisor cannot see the chat at all; advisors cannot review or lift.
    assert await other.error("visitor.block", conversation_id=conversation_id, hours=1, reason="abusive") == (
        "not_found"
    )
    assert await other.error("blocks.list") == "forbidden"
    assert await holder.error("block.lift", block_id=1) == "forbidden"
    # A supervisor may block any chat, without joining it.
    block_id = (await supervisor.ok("visitor.block", conversation_id=conversation_id, hours=1, reason="abusive"))[
        "block"
    ]["block_id"]
    assert await holder.error("visitor.block", conversation_id=conversation_id, hours=1, reason="abusive") == (
        "already_blocked"
    )
    assert await supervisor.error("block.lift", block_id=block_id + 100) == "not_found"
    assert await VisitorBlock.objects.acount() == 1
    for client in (holder, other, supervisor, visitor):
        await client.close()


async def test_bad_block_requests_are_refused_and_change_nothing() -> None:
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, _, conversation_id = await chatting_from(ADDRESS, advisor)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"hours": 0, "reason": "abusive"}, "hours: Input should be greater than or equal to 1"),
        ({"hours": 721, "reason": "abusive"}, "hours: Input should be less than or equal to 720"),
        ({"hours": "a day", "reason": "abusive"}, "hours: Input should be a valid integer"),
        ({"hours": 1, "reason": "rude"}, "reason: Input should be 'abusive', 'automated', 'hoax' or 'other'"),
        ({"hours": 1, "reason": "other"}, "Value error, say why in `note` when the reason is `other`"),
        ({"hours": 1, "reason": "other", "note": "   "}, "Value error, say why in `note` when the reason is `other`"),
        ({"hours": 1, "reason": "abusive", "note": "x" * 501}, "note: String should have at most 500 characters"),
        ({"hours": 1}, "reason: Field required"),
        ({"hours": 1, "reason": "abusive", "address": "1.2.3.4"}, "Unknown field 'address'."),
    ]
    for fields, message in cases:
        reply = await advisor.request("visitor.block", conversation_id=conversation_id, **fields)
        assert reply["error"]["code"] == "invalid", (fields, reply)
        assert message in reply["error"]["message"], (fields, reply)
    reply = await advisor.request(
        "visitor.block", conversation_id="00000000-0000-0000-0000-000000000000", hours=1, reason="abusive"
    )
    assert reply["error"]["code"] == "not_found"
    assert await VisitorBlock.objects.acount() == 0
    # No block was recorded; the refused look-up of someone else's conversation was.
    actions = [action async for action in AuditEvent.objects.values_list("action", flat=True)]
    assert actions == ["conversation.refused"]
    assert (await Conversation.objects.aget(pk=conversation_id)).state == "active"
    # The visitor carries on.
    await visitor.ok("message.send", client_msg_id="still", text="Still here")
    await advisor.close()
    await visitor.close()


def test_the_admin_lists_blocks_read_only_without_the_session_hash(db: None) -> None:
    from django.test import Client

    from tests.support.ws import verified_session_cookie

    admin_user = factories.staff(role="supervisor", is_staff_user=True)
    block = VisitorBlock.objects.create(
        token_hash="f" * 64,
        reason="automated",
        note="Posting links",
        hours=24,
        created_by=admin_user,
        expires_at=timezone.now() + timedelta(hours=24),
    )
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(admin_user).split("=", 1)[1]
    listing = client.get("/admin/chat/visitorblock/")
    assert listing.status_code == 200 and "Automated or spam" in listing.content.decode()
    detail = client.get(f"/admin/chat/visitorblock/{block.pk}/change/")
    assert detail.status_code == 200
    assert "Posting links" in detail.content.decode() and "f" * 64 not in detail.content.decode()
    assert client.post(f"/admin/chat/visitorblock/{block.pk}/delete/", {"post": "yes"}).status_code == 403
    assert VisitorBlock.objects.filter(pk=block.pk).exists()


async def test_a_connection_block_outlives_thousands_of_visitors_after_it() -> None:
    """The cache keeps the block while many new visitors' entries come and go: Django's
    in-process cache, the embedded profile's, dropped it after about 300 (config/local_cache.py).
    The scaled profile's Redis keeps everything until it expires."""
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, _, conversation_id = await chatting_from(ADDRESS, advisor)
    await advisor.ok("visitor.block", conversation_id=conversation_id, hours=2, reason="abusive", connection=True)
    await visitor.close()
    await advisor.close()

    def many_visitors() -> None:
        for n in range(6000):  # more than the embedded cache holds
            blocks.connection_remember(visitor_id=uuid.uuid4(), address=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")

    await sync_to_async(many_visitors)()

    await refused(await visitor_from(ADDRESS).connect())
    fresh = await visitor_from("198.51.100.9").connect()  # another connection is welcome
    assert "token" in await fresh.ok("hello")
    await fresh.close()


def test_the_embedded_cache_drops_expired_entries_first_and_never_a_kept_one() -> None:
    local = ExpiringLocMemCache(
        "cull-test", {"OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2, "KEEP_PREFIXES": ["chat:block-key:"]}}
    )
    local.clear()
    local.set("chat:block-key:1", "kept", 3600)
    local.set("old-but-live", 1, 3600)
    for n in range(7):
        local.set(f"soon-expired-{n}", n, 3600)
    local._expire_info.update({local.make_key(f"soon-expired-{n}"): time.time() - 1 for n in range(7)})
    local.set("full-now", 1, 3600)
    local.set("one-more", 1, 3600)  # the cache was full: the expired entries go, nothing else

    assert local.get("old-but-live") == 1 and local.get("chat:block-key:1") == "kept"
    assert len(local._cache) == 4

    for n in range(30):  # full of live entries: the least recently used go, never the kept one
        local.set(f"visitor-{n}", n, 3600)
    assert local.get("chat:block-key:1") == "kept"
    assert len(local._cache) <= 10
    assert local.get("visitor-29") == 29 and local.get("old-but-live") is None
