"""Visitors, conversations and the conversation log.

Every conversation has one ordered log (Message rows). Each row has a `seq` (1, 2, 3... per
conversation, the staff's numbering, covering everything including private notes and whispers)
and, when the visitor may see it, a `public_seq` (the visitor's own gap-free numbering).
Conversation.last_seq / last_public_seq are the counters; they are advanced while the
conversation row is locked, so only writers to the same conversation wait for each other.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Queue(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    # Triage "who is it about" answers routed here; one queue is the fallback for the rest.
    about = models.JSONField(default=list, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visitor(models.Model):
    """An anonymous session. The token is only ever stored as its SHA-256 hash."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    language = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        return f"visitor {self.pk}"


class Conversation(models.Model):
    class State(models.TextChoices):
        TRIAGE = "triage", "Triage"
        QUEUED = "queued", "Queued"
        ACTIVE = "active", "Active"
        WAITING_VISITOR = "waiting_visitor", "Waiting for the visitor"
        CLOSED = "closed", "Closed"

    class CloseReason(models.TextChoices):
        VISITOR_ENDED = "visitor_ended", "Visitor ended the chat"
        STAFF_ENDED = "staff_ended", "Ended by staff"
        QUICK_EXIT = "quick_exit", "Visitor used quick exit"
        VISITOR_LEFT = "visitor_left", "Visitor did not come back"
        IDLE = "idle", "Closed after a long silence"
        BLOCKED = "blocked", "Visitor blocked by staff"

    OPEN_STATES = (State.TRIAGE, State.QUEUED, State.ACTIVE, State.WAITING_VISITOR)
    HELD_STATES = (State.ACTIVE, State.WAITING_VISITOR)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.PROTECT)
    state = models.CharField(max_length=20, choices=State.choices, default=State.TRIAGE)
    topic = models.CharField(max_length=50, blank=True)
    language = models.CharField(max_length=16, blank=True)
    # Detected offline from the visitor's first message; may differ from the language chosen.
    detected_language = models.CharField(max_length=16, blank=True)
    region = models.CharField(max_length=40, blank=True)
    priority = models.SmallIntegerField(default=0)
    triage = models.JSONField(default=dict, blank=True)
    # The way the visitor came in: "web" (the widget) or a messaging channel ("telegram"). The
    # console shows it as a label; entries for the visitor of another channel go out through
    # its outlet (chat.outlets). The database default lets processes of the previous release
    # (which do not know the column) go on starting chats during a rolling deploy.
    channel = models.CharField(max_length=20, default="web", db_default="web")

    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    # Orders the queue after priority; a chat handed back because its advisor dropped gets a
    # key before everyone else's, which puts it at the head.
    queue_key = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    outcome = models.CharField(max_length=50, blank=True)

    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="held_conversations",
    )

    last_seq = models.PositiveIntegerField(default=0)
    last_public_seq = models.PositiveIntegerField(default=0)

    # The visitor socket that currently speaks for this conversation; a late disconnect of an
    # older socket must not mark a visitor who has already come back as gone.
    visitor_conn = models.CharField(max_length=64, blank=True)
    visitor_away_since = models.DateTimeField(null=True, blank=True)

    # Receipts, in the visitor's numbering (public_seq).
    visitor_delivered_seq = models.PositiveIntegerField(default=0)
    visitor_read_seq = models.PositiveIntegerField(default=0)
    staff_read_seq = models.PositiveIntegerField(default=0)
    # Whether the visitor answered the end-of-chat question: only that, so they answer once.
    # The answer itself is only a count (FeedbackCount), with nothing leading back here.
    feedback_given = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["state", "queue", "-priority", "queue_key"], name="conv_queue_order"),
            models.Index(fields=["assigned_to", "state"], name="conv_holder"),
            models.Index(fields=["state", "visitor_away_since"], name="conv_visitor_away"),
            # /metrics counts the chats closed in the last hour at every scrape; retention finds
            # the closed ones past their time.
            models.Index(fields=["closed_at"], name="conv_closed_at"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk} ({self.state})"


class Message(models.Model):
    """One entry of a conversation's log: a chat message, a private note, a whisper or an event."""

    class Kind(models.TextChoices):
        TEXT = "text", "Message"
        NOTE = "note", "Private note"
        WHISPER = "whisper", "Supervisor whisper"
        EVENT = "event", "Event"

    class Sender(models.TextChoices):
        VISITOR = "visitor", "Visitor"
        ADVISOR = "advisor", "Advisor"
        SUPERVISOR = "supervisor", "Supervisor"
        SYSTEM = "system", "System"
        BOT = "bot", "Bot"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    public_seq = models.PositiveIntegerField(null=True, blank=True)
    # NULL (not "") for entries without one, so the partial unique constraint ignores them.
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    kind = models.CharField(max_length=10, choices=Kind.choices)
    sender_kind = models.CharField(max_length=12, choices=Sender.choices)
    sender_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    sender_name = models.CharField(max_length=100, blank=True)
    event = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict, blank=True)
    text = models.TextField(blank=True, max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "public_seq"],
                condition=Q(public_seq__isnull=False),
                name="message_public_seq_unique",
            ),
            models.UniqueConstraint(
                fields=["conversation", "client_msg_id"],
                condition=Q(client_msg_id__isnull=False),
                name="message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq} {self.kind}"

    @property
    def is_public(self) -> bool:
        return self.public_seq is not None


class Assignment(models.Model):
    """Who was in a conversation, from when to when, and why."""

    class Role(models.TextChoices):
        HOLDER = "holder", "Holding advisor"
        MONITOR = "monitor", "Silent monitor"
        PARTICIPANT = "participant", "Joined openly"

    class Reason(models.TextChoices):
        ACCEPTED = "accepted", "Accepted from the queue"
        TRANSFERRED = "transferred", "Transferred"
        RETURNED_TO_QUEUE = "returned_to_queue", "Returned to the queue"
        ADVISOR_DISCONNECTED = "advisor_disconnected", "Advisor disconnected"
        JOINED = "joined", "Joined by a supervisor"
        MONITORED = "monitored", "Monitored by a supervisor"
        LEFT = "left", "Left"
        CLOSED = "closed", "Conversation closed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(max_length=12, choices=Role.choices)
    started_at = models.DateTimeField(auto_now_add=True)
    start_reason = models.CharField(max_length=24, choices=Reason.choices)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=24, choices=Reason.choices, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        indexes = [models.Index(fields=["user", "ended_at"], name="assignment_open_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} of {self.conversation_id}"


class Transfer(models.Model):
    """A warm transfer offered by the holding advisor to another advisor."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="transfers")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True, max_length=4000)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(state="pending"),
                name="one_pending_transfer_per_conversation",
            )
        ]

    def __str__(self) -> str:
        return f"transfer of {self.conversation_id} to {self.to_user_id} ({self.state})"


class ServiceStatus(models.Model):
    """The supervisors' surge pause: while paused, no new chat starts (queued ones are kept).
    One row; every change is kept in ServiceStatusChange."""

    paused = models.BooleanField(default=False)
    message = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "paused" if self.paused else "open"


class ServiceStatusChange(models.Model):
    paused = models.BooleanField()
    message = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{'paused' if self.paused else 'resumed'} at {self.changed_at:%Y-%m-%d %H:%M}"


class VisitorBlock(models.Model):
    """A time-limited block on an abusive or automated visitor (chat/blocks.py). It names the
    visitor's session by its token hash only; whether a connection was blocked too is a flag:
    the connection's keyed hash lives only in the cache, never here. Every block and lift is
    also in the audit trail."""

    class Reason(models.TextChoices):
        ABUSIVE = "abusive", "Abusive to staff"
        AUTOMATED = "automated", "Automated or spam"
        HOAX = "hoax", "Repeated hoax or time-wasting"
        OTHER = "other", "Other"

    token_hash = models.CharField(max_length=64, db_index=True)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="blocks"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(max_length=500, blank=True)
    hours = models.PositiveIntegerField()
    connection = models.BooleanField(default=False, help_text="The visitor's connection was blocked too.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lift_note = models.TextField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"block {self.pk} ({self.reason}, {self.hours} h)"


class FeedbackCount(models.Model):
    """The visitors' answers to "Did this chat help?": a count per day and answer, nothing else."""

    class Answer(models.TextChoices):
        YES = "yes", "Yes"
        PARTLY = "partly", "Partly"
        NO = "no", "No"

    day = models.DateField()
    answer = models.CharField(max_length=10, choices=Answer.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "answer"], name="feedback_count_per_day_answer")]

    def __str__(self) -> str:
        return f"{self.day} {self.answer}: {self.count}"


from chat.embedding import EmbeddingSite  # noqa: E402, F401  (a model of this app, in a module of its own)
from chat.setup_models import (  # noqa: E402, F401  (models of this app, in a module of their own)
    DirectoryEntry,
    Holiday,
    OpeningHours,
    ReferralDestination,
    Region,
    Schedule,
    ServiceGiven,
    TriageOption,
    TriageQuestion,
)
