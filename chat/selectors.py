"""Reads: the conversation log, summaries, queue order and estimated waits.

Everything returned here is a plain JSON-safe dict shaped like its protocol schema, ready for
the channel layer or the socket.
"""

import math
import time
from collections import OrderedDict
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import Avg, F, Q, QuerySet, Sum
from django.utils import timezone

from agents.models import StaffProfile
from chat import reference, translation
from chat.models import Assignment, Conversation, Message, Queue
from chat.protocol.outbound import ConversationSummary, Entry, QueueEntry, QueueSnapshot, QueueTriage, VisitorStatus

Audience = str  # "visitor" or "staff"


def entry_payload(message: Message, *, audience: Audience) -> dict[str, Any]:
    seq = message.public_seq if audience == "visitor" else message.seq
    assert seq is not None
    data = message.data if audience == "staff" else message.data.get("public", {})
    return Entry(
        conversation_id=message.conversation_id,
        seq=seq,
        kind=message.kind,
        sender_kind=message.sender_kind,
        sender_name=message.sender_name,
        text=message.text,
        event=message.event,
        data=data,
        client_msg_id=message.client_msg_id,
        created_at=message.created_at,
    ).model_dump(mode="json")


def entries_after(
    *, conversation_id: UUID, after_seq: int, audience: Audience, limit: int | None = None
) -> list[dict[str, Any]]:
    limit = limit or int(settings.CHAT["REPLAY_LIMIT"])
    qs = Message.objects.filter(conversation_id=conversation_id)
    if audience == "visitor":
        qs = qs.filter(public_seq__gt=after_seq).order_by("public_seq")
    else:
        qs = qs.filter(seq__gt=after_seq).order_by("seq")
    return [entry_payload(m, audience=audience) for m in qs[:limit]]


def log_ends(*, conversation_ids: list[UUID], audience: Audience) -> dict[UUID, int]:
    """The last sequence number of each conversation's log, in the audience's numbering."""
    field = "last_public_seq" if audience == "visitor" else "last_seq"
    return dict(Conversation.objects.filter(pk__in=conversation_ids).values_list("pk", field))


def open_assignments(*, user_id: int) -> QuerySet[Assignment]:
    return Assignment.objects.filter(
        user_id=user_id, ended_at__isnull=True, conversation__state__in=Conversation.OPEN_STATES
    )


def staff_role_in(*, conversation: Conversation, user_id: int) -> str:
    if conversation.assigned_to_id == user_id:
        return "holder"
    assignment = (
        Assignment.objects.filter(conversation=conversation, user_id=user_id, ended_at__isnull=True)
        .exclude(role=Assignment.Role.HOLDER)
        .first()
    )
    return assignment.role if assignment else "none"


def conversation_summary(
    conversation: Conversation, *, for_user_id: int | None = None, holder_name: str = ""
) -> dict[str, Any]:
    """`holder_name`: the holder's display name when the caller knows it (saves reading the
    holder's user and profile)."""
    holder = None
    if conversation.assigned_to_id is not None and holder_name:
        holder = {"user_id": conversation.assigned_to_id, "name": holder_name}
    elif conversation.assigned_to_id is not None:
        user = conversation.assigned_to
        assert user is not None
        name = getattr(getattr(user, "staff", None), "display_name", "") or user.get_username()
        holder = {"user_id": user.pk, "name": name}
    role = "none"
    if for_user_id is not None:
        role = staff_role_in(conversation=conversation, user_id=for_user_id)
    return ConversationSummary(
        conversation_id=conversation.pk,
        seq=conversation.last_seq,
        state=conversation.state,
        queue=conversation.queue.slug if conversation.queue_id else None,  # type: ignore[union-attr]
        priority=conversation.priority,
        language=conversation.language,
        detected_language=conversation.detected_language,
        translation=translation.available(),
        topic=conversation.topic,
        triage=conversation.triage,
        channel=conversation.channel,
        holder=holder,
        visitor_connected=conversation.visitor_away_since is None and bool(conversation.visitor_conn),
        queued_at=conversation.queued_at,
        accepted_at=conversation.accepted_at,
        closed_at=conversation.closed_at,
        close_reason=conversation.close_reason,
        visitor_read_seq=conversation.visitor_read_seq,
        role=role,
    ).model_dump(mode="json")


# A conversation's channel never changes: each process keeps the last few it read.
_channels: "OrderedDict[UUID, str]" = OrderedDict()
CHANNEL_CACHE_SIZE = 2048


def channel_cached(conversation_id: UUID) -> str | None:
    """The conversation's channel if this process has read it already; no query."""
    return _channels.get(conversation_id)


def conversation_channel(*, conversation_id: UUID) -> str:
    """The way the conversation's visitor came in ("web" when it does not exist)."""
    channel = _channels.get(conversation_id)
    if channel is None:
        found = Conversation.objects.filter(pk=conversation_id).values_list("channel", flat=True).first()
        channel = found or "web"
        _channels[conversation_id] = channel
        while len(_channels) > CHANNEL_CACHE_SIZE:
            _channels.popitem(last=False)
    return channel


def queued_in(queue_id: int) -> QuerySet[Conversation]:
    return Conversation.objects.filter(queue_id=queue_id, state=Conversation.State.QUEUED).order_by(
        "-priority", "queue_key", "pk"
    )


@reference.memo(ttl=30, models=())
def average_handle_seconds() -> float:
    """Mean length of the last day's answered chats; a settings default until there are some."""
    since = timezone.now() - timedelta(days=1)
    recent = Conversation.objects.filter(
        state=Conversation.State.CLOSED, accepted_at__isnull=False, closed_at__gte=since
    ).aggregate(avg=Avg(F("closed_at") - F("accepted_at")))["avg"]
    if recent is None:
        return float(settings.CHAT["DEFAULT_HANDLE_SECONDS"])
    return max(60.0, recent.total_seconds())


@reference.memo(ttl=2, models=("agents.staffprofile:availability,capacity", "chat.queue", "auth.user:is_active"))
def queue_slots(queue_id: int) -> int:
    """Concurrent chats the on-shift staff serving this queue can hold."""
    total = StaffProfile.objects.filter(
        queues__id=queue_id, availability=StaffProfile.Availability.ON_SHIFT, user__is_active=True
    ).aggregate(total=Sum("capacity"))["total"]
    return int(total or 0)


def estimate_wait(*, position: int, slots: int, handle_seconds: float) -> int | None:
    """Seconds until a chat at `position` (1-based) is likely answered; None when nobody who
    could answer it is on shift. Each slot frees up on average every `handle_seconds`."""
    if slots <= 0:
        return None
    return math.ceil(position / slots * handle_seconds)


def queue_positions(queue_id: int) -> list[dict[str, Any]]:
    """Status messages for every visitor queued in this queue, in queue order."""
    queued = list(queued_in(queue_id))
    if not queued:
        return []
    slots = queue_slots(queue_id)
    handle = average_handle_seconds()
    statuses = []
    for index, conversation in enumerate(queued, start=1):
        statuses.append(
            VisitorStatus(
                conversation_id=conversation.pk,
                seq=conversation.last_public_seq,
                state="queued",
                position=index,
                estimated_wait_seconds=estimate_wait(position=index, slots=slots, handle_seconds=handle),
                staffed=slots > 0,
            ).model_dump(mode="json")
        )
    return statuses


def visitor_status(conversation: Conversation, *, holder_name: str = "") -> dict[str, Any]:
    position = wait = staffed = None
    if conversation.state == Conversation.State.QUEUED and conversation.queue_id is not None:
        ahead = queued_in(conversation.queue_id).filter(
            Q(priority__gt=conversation.priority)
            | Q(priority=conversation.priority, queue_key__lt=conversation.queue_key)
            | Q(priority=conversation.priority, queue_key=conversation.queue_key, pk__lt=conversation.pk)
        )
        position = ahead.count() + 1
        slots = queue_slots(conversation.queue_id)
        staffed = slots > 0
        wait = estimate_wait(position=position, slots=slots, handle_seconds=average_handle_seconds())
    advisor_name = ""
    if conversation.assigned_to_id is not None and conversation.state in Conversation.HELD_STATES:
        advisor_name = holder_name or conversation.assigned_to.staff.display_name  # type: ignore[union-attr]
    return VisitorStatus(
        conversation_id=conversation.pk,
        seq=conversation.last_public_seq,
        state=conversation.state,
        position=position,
        estimated_wait_seconds=wait,
        staffed=staffed,
        advisor_name=advisor_name,
    ).model_dump(mode="json")


QUEUE_SNAPSHOT_LIMIT = 100


def queue_triage(triage: dict[str, Any]) -> QueueTriage | None:
    """The part of a stored triage (chat.triage.TriageResult.stored) a queue shows."""
    if not triage:
        return None
    return QueueTriage(
        in_danger=bool(triage.get("in_danger")),
        about=triage.get("about") or "",
        language=triage.get("language") or "",
        help=list(triage.get("help") or []),
        region=triage.get("region") or "",
        labels=triage_labels(triage),
    )


LABELLED_ROLES = ("about", "help", "region")


def triage_labels(triage: dict[str, Any]) -> dict[str, str]:
    """The staff's wording of the routing answers, from the stored summary (worded in the
    default language when the visitor answered)."""
    labels = {}
    for item in triage.get("summary") or []:
        role = item.get("role") if isinstance(item, dict) else None
        if role in LABELLED_ROLES and isinstance(item.get("answer"), str):
            labels[role] = item["answer"]
    return labels


def queue_snapshot(queue: Queue) -> dict[str, Any]:
    queued = queued_in(queue.pk)
    length = queued.count()
    entries = [
        QueueEntry(
            conversation_id=c.pk,
            priority=c.priority,
            language=c.language,
            topic=c.topic,
            channel=c.channel,
            triage=queue_triage(c.triage),
            queued_at=c.queued_at,
            position=index,
        )
        for index, c in enumerate(queued[:QUEUE_SNAPSHOT_LIMIT], start=1)
    ]
    return QueueSnapshot(queue=queue.slug, name=queue.name, length=length, entries=entries).model_dump(mode="json")


# The last snapshot of each queue this process broadcast or showed a console: (when, snapshot).
_recent_snapshots: dict[int, tuple[float, dict[str, Any]]] = {}
RECENT_SNAPSHOT_SECONDS = 2.0


def fresh_queue_snapshot(queue: Queue) -> dict[str, Any]:
    """A fresh snapshot, remembered: consoles saying hello in the next two seconds are shown it."""
    snapshot = queue_snapshot(queue)
    _recent_snapshots[queue.pk] = (time.monotonic(), snapshot)
    return snapshot


def forget_recent_snapshots() -> None:
    _recent_snapshots.clear()


def recent_queue_snapshot(queue: Queue) -> dict[str, Any]:
    """The queue as a console saying hello sees it: the last snapshot taken (broadcast, or shown
    to another console saying hello) when it is under two seconds old, else a fresh one, kept for
    the next. Any change since is followed by a broadcast of its own (chat.engine.queueing), so a
    console is never left with an old queue. With hundreds of consoles connecting, a snapshot per
    hello was a tenth of the server's time; a queue that does not change is not broadcast again."""
    recent = _recent_snapshots.get(queue.pk)
    fresh_enough = recent is not None and time.monotonic() - recent[0] < RECENT_SNAPSHOT_SECONDS
    if recent is not None and fresh_enough and settings.REFERENCE_CACHE:
        return recent[1]
    return fresh_queue_snapshot(queue)


def staff_conversations(*, user_id: int, is_supervisor: bool) -> list[Conversation]:
    """Open conversations a staff member is in (held, monitored or joined)."""
    ids = set(open_assignments(user_id=user_id).values_list("conversation_id", flat=True))
    ids |= set(
        Conversation.objects.filter(assigned_to_id=user_id, state__in=Conversation.HELD_STATES).values_list(
            "pk", flat=True
        )
    )
    return list(
        Conversation.objects.filter(pk__in=ids)
        .select_related("queue", "assigned_to__staff")
        .order_by("accepted_at", "created_at")
    )


def open_conversation_summaries() -> list[dict[str, Any]]:
    """Every open conversation, oldest first (the supervisors' overview)."""
    conversations = (
        Conversation.objects.filter(state__in=Conversation.OPEN_STATES)
        .exclude(state=Conversation.State.TRIAGE)
        .select_related("queue", "assigned_to__staff")
        .order_by("created_at")
    )
    return [conversation_summary(c) for c in conversations]


def staff_list() -> list[dict[str, Any]]:
    """Every active staff member with availability and load, for transfers and supervision."""
    held = Conversation.HELD_STATES
    profiles = StaffProfile.objects.filter(user__is_active=True).select_related("user").order_by("display_name")
    loads: dict[int, int] = {}
    for user_id in Conversation.objects.filter(state__in=held, assigned_to__isnull=False).values_list(
        "assigned_to_id", flat=True
    ):
        loads[user_id] = loads.get(user_id, 0) + 1
    return [
        {
            "user_id": p.user_id,
            "name": p.display_name,
            "role": p.role,
            "availability": p.availability,
            "load": loads.get(p.user_id, 0),
            "capacity": p.capacity,
            "languages": p.languages,
            "connected": p.connections.exists(),
        }
        for p in profiles
    ]


def conversation_summaries(*, conversation_ids: list[UUID], user_id: int) -> list[dict[str, Any]]:
    conversations = Conversation.objects.filter(pk__in=conversation_ids).select_related("queue", "assigned_to__staff")
    return [conversation_summary(c, for_user_id=user_id) for c in conversations]


def console_hello_state(
    *, user_id: int, is_supervisor: bool
) -> tuple[dict[UUID, str], list[str], list[dict[str, Any]]]:
    """What a console's hello starts from: the staff member's role in each conversation they are
    in, the slugs of the queues they watch and those queues' latest snapshots."""
    roles = {
        c.pk: staff_role_in(conversation=c, user_id=user_id)
        for c in staff_conversations(user_id=user_id, is_supervisor=is_supervisor)
    }
    queues = Queue.objects.all() if is_supervisor else Queue.objects.filter(staff__user_id=user_id)
    snapshots = [recent_queue_snapshot(q) for q in queues]
    return roles, [q.slug for q in queues], snapshots
