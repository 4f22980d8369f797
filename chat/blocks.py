"""Blocks on abusive or automated visitors: time-limited, with a reason, audited, reviewed and
lifted early by supervisors.

What a block matches, and what is kept (never an address, in the database or the logs):
- the visitor's session, by its token hash (the Visitor row's), for the block's whole time;
- optionally their connection, for at most CONNECTION_HOURS: a keyed hash (HMAC-SHA256) of the
  connection's address. The key is random, made per UTC day and kept only in the cache for two
  days (and in each server process's memory while it is today's or yesterday's); the hash of a
  visitor's connection, and a block on it, are kept only in the cache, each with an expiry.
  So a new session from the same connection is refused too while the connection
  block lasts, and once a day's key has expired nothing can lead from a hash back to an address.

A blocked visitor is refused at `hello` and `conversation.start` with `unavailable`; one blocked
mid-chat is told the same at once and their chat ends. The socket stays open: the directory and
the triage questions need no hello, so a blocked person can still find the other ways to get
help (this is a domestic abuse service: a block must never cut anyone off from those). The
widget words it neutrally.
Every check goes back to the VisitorBlock row, so a lifted or expired block stops matching at
once even while its cache entries live on.
"""

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from agents import audit
from chat import selectors
from chat.engine import events
from chat.errors import ProtocolError
from chat.models import Conversation, Message, Visitor, VisitorBlock
from chat.protocol.outbound import BlockNotice
from chat.services import visitor
from chat.services.kernel import StaffActor, conversation_close, conversation_for_staff, entry_append

CONNECTION_HOURS = 24  # a shared connection (a library, a mobile network) is blocked no longer
KEY_SECONDS = 2 * 24 * 3600  # yesterday's key stays, so a block made before midnight still matches
REVIEW_DAYS = 30  # ended blocks stay in the supervisors' list this long
UNAVAILABLE = "The chat is not available right now. Please try again later."


# The day keys this process has read (every hello hashes with two), so that a hello costs no
# extra cache round trips for them; only today's and yesterday's are ever kept.
_day_keys: dict[date, bytes] = {}


def _day_key(day: date) -> bytes:
    known = _day_keys.get(day)
    if known is not None:
        return known
    key = cache.get_or_set(f"chat:connection-key:{day.isoformat()}", secrets.token_hex(32), timeout=KEY_SECONDS)
    for old in [d for d in _day_keys if d < day - timedelta(days=1)]:
        del _day_keys[old]
    _day_keys[day] = bytes.fromhex(str(key))
    return _day_keys[day]


def _hash(address: str, day: date) -> str:
    return hmac.new(_day_key(day), address.encode(), hashlib.sha256).hexdigest()


def connection_hashes(address: str | None) -> list[str]:
    """Today's and yesterday's keyed hash of the address (none without one)."""
    if not address:
        return []
    today = timezone.now().date()
    return [_hash(address, today), _hash(address, today - timedelta(days=1))]


def _visitor_key(visitor_id: UUID) -> str:
    return f"chat:visitor-connection:{visitor_id}"


def _block_key(connection_hash: str) -> str:
    return f"chat:blocked-connection:{connection_hash}"


def _active(now: datetime | None = None) -> Any:
    now = now or timezone.now()
    return VisitorBlock.objects.filter(lifted_at__isnull=True, expires_at__gt=now)


def _refuse() -> ProtocolError:
    return ProtocolError("unavailable", UNAVAILABLE)


def visitor_admit(*, address: str | None, token: str | None = None, visitor_id: UUID | None = None) -> None:
    """Raises `unavailable` for a blocked session or connection."""
    hashes: list[str] = []
    if token is not None:
        hashes.append(visitor.token_hash(token))
    if visitor_id is not None:
        hashes += list(Visitor.objects.filter(pk=visitor_id).values_list("token_hash", flat=True))
    if hashes and _active().filter(token_hash__in=hashes).exists():
        raise _refuse()
    blocked_ids = [v for v in cache.get_many([_block_key(h) for h in connection_hashes(address)]).values() if v]
    if blocked_ids and _active().filter(pk__in=blocked_ids).exists():
        raise _refuse()


def connection_remember(*, visitor_id: UUID, address: str | None) -> None:
    """The keyed hash of the connection this visitor's socket came from, in the cache only, so
    that staff can block the connection with the session."""
    hashes = connection_hashes(address)
    if hashes:
        cache.set(_visitor_key(visitor_id), hashes[0], timeout=CONNECTION_HOURS * 3600)


def visitor_hello(*, token: str | None, conn_id: str, language: str, address: str | None) -> visitor.Greeting:
    """The visitor socket's hello, refused for a blocked session or connection."""
    visitor_admit(address=address, token=token)
    greeting = visitor.visitor_hello(token=token, conn_id=conn_id, language=language)
    connection_remember(visitor_id=greeting.visitor_id, address=address)
    return greeting


def conversation_start(
    *, visitor_id: UUID, conn_id: str, language: str | None, address: str | None, channel: str = "web"
) -> Conversation:
    """A new chat, refused for a blocked session or connection (blocked since this socket's hello).
    A messaging channel's visitor has no network address: `address` is then their account on the
    channel, hashed and kept the same way."""
    visitor_admit(address=address, visitor_id=visitor_id)
    return visitor.conversation_start(visitor_id=visitor_id, conn_id=conn_id, language=language, channel=channel)


def block_payload(block: VisitorBlock, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    state = "lifted" if block.lifted_at else ("active" if block.expires_at > now else "expired")

    def name(user: Any) -> str:
        if user is None:
            return ""
        return str(getattr(getattr(user, "staff", None), "display_name", "") or user.get_username())

    return {
        "block_id": block.pk,
        "state": state,
        "reason": block.reason,
        "reason_label": block.get_reason_display(),
        "note": block.note,
        "hours": block.hours,
        "connection": block.connection,
        "conversation_id": str(block.conversation_id) if block.conversation_id else None,
        "created_at": block.created_at.isoformat(),
        "created_by": name(block.created_by),
        "expires_at": block.expires_at.isoformat(),
        "lifted_at": block.lifted_at.isoformat() if block.lifted_at else None,
        "lifted_by": name(block.lifted_by),
        "lift_note": block.lift_note,
    }


def block_read(*, block_id: int) -> dict[str, Any]:
    block = VisitorBlock.objects.select_related("created_by__staff", "lifted_by__staff").get(pk=block_id)
    return block_payload(block)


def _tell_supervisors(block: VisitorBlock, state: str) -> None:
    notice = BlockNotice(block_id=block.pk, state=state).model_dump(mode="json")
    events.emit_on_commit([(events.SUPERVISORS_GROUP, {"type": "chat.block", "notice": notice})])


def _audit(*, actor: StaffActor, action: str, block: VisitorBlock, **detail: Any) -> None:
    # The product's one append-only, hash-chained audit trail.
    audit.record(actor_id=actor.user_id, action=action, block=block.pk, **detail)


def visitor_block(
    *,
    actor: StaffActor,
    conversation_id: UUID,
    hours: int,
    reason: str,
    note: str,
    connection: bool,
) -> VisitorBlock:
    """Block the visitor of a conversation for `hours`: the advisor holding it, or a supervisor.
    Their chat ends at once if it is open (the visitor is told only that the chat is not
    available); the block, and the connection's for at most CONNECTION_HOURS, is audited."""
    with transaction.atomic():
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="view")
        role = selectors.staff_role_in(conversation=conversation, user_id=actor.user_id)
        if role != "holder" and not actor.is_supervisor:
            raise ProtocolError("not_holder")
        token_hash = conversation.visitor.token_hash
        if _active().filter(token_hash=token_hash).exists():
            raise ProtocolError("already_blocked")
        connection_hash = cache.get(_visitor_key(conversation.visitor_id)) if connection else None
        now = timezone.now()
        block = VisitorBlock.objects.create(
            token_hash=token_hash,
            conversation=conversation,
            reason=reason,
            note=note,
            hours=hours,
            connection=connection_hash is not None,
            created_by_id=actor.user_id,
            expires_at=now + timedelta(hours=hours),
        )
        if connection_hash is not None:
            seconds = min(hours, CONNECTION_HOURS) * 3600
            key = _block_key(str(connection_hash))
            # Set once the block is committed; a lift deletes both.
            transaction.on_commit(lambda: cache.set_many({key: block.pk, f"chat:block-key:{block.pk}": key}, seconds))
        _audit(
            actor=actor,
            action="visitor.block",
            block=block,
            conversation=str(conversation.pk),
            hours=hours,
            block_reason=reason,
            connection=block.connection,
        )
        _tell_supervisors(block, "active")
        # Before the chat's own close below, so the visitor's socket is told first and closed.
        events.emit_on_commit([(events.conv_visitor_group(conversation.pk), {"type": "chat.blocked"})])
        entry_append(
            conversation,
            kind=Message.Kind.EVENT,
            sender_kind=Message.Sender.SYSTEM,
            event="visitor_blocked",
            public=False,
            text=f"{actor.name} blocked this visitor for {hours} h ({block.get_reason_display()}).",
            data={"block_id": block.pk, "hours": hours, "reason": reason, "by_user_id": actor.user_id},
        )
        if conversation.state != Conversation.State.CLOSED:
            conversation_close(conversation, reason=Conversation.CloseReason.BLOCKED, outcome="other")
        return block


def block_lift(*, actor: StaffActor, block_id: int, note: str) -> VisitorBlock:
    """Supervisors: end a block early."""
    if not actor.is_supervisor:
        raise ProtocolError("forbidden")
    with transaction.atomic():
        block = VisitorBlock.objects.select_for_update().filter(pk=block_id).first()
        if block is None:
            raise ProtocolError("not_found")
        if block.lifted_at is not None or block.expires_at <= timezone.now():
            raise ProtocolError("block_ended")
        block.lifted_at = timezone.now()
        block.lifted_by_id = actor.user_id
        block.lift_note = note
        block.save(update_fields=["lifted_at", "lifted_by", "lift_note"])
        _audit(actor=actor, action="visitor.block_lift", block=block, note_given=bool(note))
        _tell_supervisors(block, "lifted")

        def forget() -> None:
            marker = f"chat:block-key:{block.pk}"
            key = cache.get(marker)
            cache.delete_many([marker, *([key] if key else [])])

        transaction.on_commit(forget)
        return block


def blocks_for_review(*, actor: StaffActor, now: datetime | None = None) -> list[dict[str, Any]]:
    """Supervisors: the blocks in force, then those that ended in the last REVIEW_DAYS."""
    if not actor.is_supervisor:
        raise ProtocolError("forbidden")
    now = now or timezone.now()
    recent = VisitorBlock.objects.filter(created_at__gte=now - timedelta(days=REVIEW_DAYS)) | _active(now)
    rows = list(recent.select_related("created_by__staff", "lifted_by__staff").order_by("-created_at", "-pk"))
    payloads = [block_payload(b, now=now) for b in rows]
    return [p for p in payloads if p["state"] == "active"] + [p for p in payloads if p["state"] != "active"]
