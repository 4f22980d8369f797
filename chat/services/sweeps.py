"""Periodic, idempotent sweeps: grace periods of visitors and advisors who dropped, and chats
left silent.
"""

from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agents.models import StaffConnection, StaffProfile
from chat.engine import presence
from chat.models import Assignment, Conversation, Transfer
from chat.services.handoff import requeue
from chat.services.kernel import conversation_close, profile_lock, transfers_cancel
from chat.services.notices import queue_changed
from chat.services.staff import live_connections
from chat.services.visitor import visitor_disconnect

State = Conversation.State


def grace_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Idempotent; run after each disconnect's grace period and every few seconds by beat.

    Visitors gone past their grace period: their conversation closes. Console sockets silent
    past the heartbeat timeout (their process died) stop counting. Advisors with no live
    socket past their grace period: their chats go back to the head of the queue.
    """
    now = now or timezone.now()
    visitor_cutoff = now - timedelta(seconds=float(settings.CHAT["VISITOR_GRACE_SECONDS"]))
    advisor_cutoff = now - timedelta(seconds=float(settings.CHAT["ADVISOR_GRACE_SECONDS"]))
    heartbeat_cutoff = now - timedelta(seconds=float(settings.CHAT["STAFF_HEARTBEAT_TIMEOUT_SECONDS"]))
    closed = requeued = 0
    _visitors_of_dead_processes_away()

    gone = Conversation.objects.filter(state__in=Conversation.OPEN_STATES, visitor_away_since__lte=visitor_cutoff)
    for conversation_id in gone.values_list("pk", flat=True):
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
            if (
                conversation.state == State.CLOSED
                or conversation.visitor_away_since is None
                or conversation.visitor_away_since > visitor_cutoff
            ):
                continue
            conversation_close(conversation, reason=Conversation.CloseReason.VISITOR_LEFT, outcome="visitor_left")
            closed += 1

    for stale in StaffConnection.objects.filter(seen_at__lte=heartbeat_cutoff).select_related("profile"):
        with transaction.atomic():
            profile = profile_lock(stale.profile.user_id)
            StaffConnection.objects.filter(pk=stale.pk).delete()
            if profile.disconnected_at is None and live_connections(profile, now) == 0:
                profile.disconnected_at = stale.seen_at
                profile.save(update_fields=["disconnected_at"])

    dropped = StaffProfile.objects.filter(disconnected_at__lte=advisor_cutoff)
    for user_id in dropped.values_list("user_id", flat=True):
        with transaction.atomic():
            profile = profile_lock(user_id)
            if profile.disconnected_at is None or profile.disconnected_at > advisor_cutoff:
                continue
            if live_connections(profile, now) > 0:
                continue
            for conversation in Conversation.objects.select_for_update().filter(
                assigned_to_id=user_id, state__in=Conversation.HELD_STATES
            ):
                assert conversation.queue is not None
                requeue(
                    conversation,
                    queue=conversation.queue,
                    at_head=True,
                    reason=Assignment.Reason.ADVISOR_DISCONNECTED,
                    visitor_text="Your advisor lost their connection. You are first in line for the next advisor.",
                )
                requeued += 1
            for transfer in Transfer.objects.filter(to_user_id=user_id, state=Transfer.State.PENDING):
                transfers_cancel(Conversation.objects.select_for_update().get(pk=transfer.conversation_id))
            Assignment.objects.filter(user_id=user_id, ended_at__isnull=True).exclude(
                role=Assignment.Role.HOLDER
            ).update(ended_at=now, end_reason=Assignment.Reason.LEFT)
            profile.disconnected_at = None
            profile.availability = StaffProfile.Availability.AWAY
            profile.save(update_fields=["disconnected_at", "availability"])
            for queue_id in profile.queues.values_list("pk", flat=True):
                queue_changed(queue_id, staff=False)  # fewer on shift: longer waits
    return {"closed": closed, "requeued": requeued}


def _visitors_of_dead_processes_away() -> None:
    """Start the grace period of visitors whose socket's server process has died."""
    connected = Conversation.objects.filter(
        state__in=Conversation.OPEN_STATES, visitor_away_since__isnull=True
    ).exclude(visitor_conn="")
    by_process: dict[str, list[tuple[UUID, str]]] = {}
    for conversation_id, conn_id in connected.values_list("pk", "visitor_conn"):
        process = presence.process_of(conn_id)
        if process is not None and process != presence.PROCESS_ID:
            by_process.setdefault(process, []).append((conversation_id, conn_id))
    for process in presence.dead_processes(set(by_process)):
        for conversation_id, conn_id in by_process[process]:
            visitor_id = Conversation.objects.filter(pk=conversation_id).values_list("visitor_id", flat=True).first()
            if visitor_id is not None:
                visitor_disconnect(visitor_id=visitor_id, conn_id=conn_id)


def idle_close(*, now: datetime | None = None) -> int:
    """Close chats in triage or with an advisor where nobody has written for the idle period.
    Queued chats are never closed for silence: the visitor is waiting for us."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=float(settings.CHAT["IDLE_CLOSE_MINUTES"]))
    idle = (
        Conversation.objects.filter(state__in=(State.TRIAGE, State.ACTIVE, State.WAITING_VISITOR))
        .annotate(last_entry=Max("messages__created_at"))
        .filter(last_entry__lt=cutoff)
        .values_list("pk", flat=True)
    )
    closed = 0
    for conversation_id in list(idle):
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
            last = conversation.messages.aggregate(last=Max("created_at"))["last"]
            if conversation.state not in (State.TRIAGE, State.ACTIVE, State.WAITING_VISITOR) or (
                last and last >= cutoff
            ):
                continue
            conversation_close(conversation, reason=Conversation.CloseReason.IDLE, outcome="")
            closed += 1
    return closed
