"""Visitors, conversations and the conversation log.

Every conversation has one ordered log (Message rows). Each row has a `seq` (1, 2, 3... per
conversation, the staff's numbering, covering everything including private notes and whispers)
and, when the visitor may see it, a `public_seq` (the visitor's own gap-free numbering).
Conversation.last_seq / last_public_seq are the counters; they are advanced while the
conversation row is locked, so only writers to the same conversation wait for each other.
"""

import uuid
from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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


# --- Triage flow, directory and opening hours: data that staff edit in the admin ---------------


class TriageQuestion(models.Model):
    """One question the triage bot asks before a human. The flow is the active questions in order.

    A question's `role` tells the server what its answer does; questions with the role "other"
    are asked and shown to the advisor, nothing more. Wording may be given per language in
    `translations` ({"cy": {"prompt": "...", "help_text": "..."}}); without it the shipped
    translations of the default wording apply, then the wording as written."""

    class Role(models.TextChoices):
        DANGER = "danger", "Immediate danger (an option marked 'emergency' shows the emergency number)"
        SAFETY = "safety", "Safe to talk now"
        ABOUT = "about", "Who the chat is about (routes to a queue)"
        LANGUAGE = "language", "Language (options are the languages offered)"
        HELP = "help", "Kind of help (the first answer is the chat's topic)"
        REGION = "region", "Region (options are the directory's regions)"
        OTHER = "other", "Other (shown to the advisor)"

    ROLES_WITH_OWN_OPTIONS = (Role.LANGUAGE, Role.REGION)

    key = models.SlugField(max_length=40, unique=True, help_text="The name its answer is stored under.")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OTHER)
    order = models.PositiveSmallIntegerField(default=0)
    prompt = models.CharField(max_length=300)
    help_text = models.CharField(max_length=500, blank=True)
    multiple = models.BooleanField(default=False, help_text="The visitor may choose any number of answers.")
    required = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    translations = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["role"], condition=Q(active=True) & ~Q(role="other"), name="one_active_question_per_role"
            )
        ]

    def __str__(self) -> str:
        return self.prompt


class TriageOption(models.Model):
    question = models.ForeignKey(TriageQuestion, on_delete=models.CASCADE, related_name="options")
    value = models.SlugField(max_length=40)
    label = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(default=0)
    emergency = models.BooleanField(
        default=False,
        help_text="Choosing it shows the emergency number at once and queues the chat at the highest priority.",
    )
    caution = models.BooleanField(
        default=False, help_text="Choosing it tells the advisor it may not be safe for the visitor to talk."
    )
    translations = models.JSONField(default=dict, blank=True, help_text='Labels by language: {"cy": "..."}')

    class Meta:
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["question", "value"], name="triage_option_value_unique")]

    def __str__(self) -> str:
        return self.label


class Region(models.Model):
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    translations = models.JSONField(default=dict, blank=True, help_text='Names by language: {"cy": "..."}')

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class DirectoryEntry(models.Model):
    """A service a visitor can contact. Entries without a region are national.

    A refuge's or shelter's address is never stored here, let alone shown: only its contact
    route (the model refuses an address on a refuge)."""

    class Kind(models.TextChoices):
        HELPLINE = "helpline", _("Helpline")
        REFUGE = "refuge", _("Refuge or shelter")
        ADVICE = "advice", _("Advice and support")
        LEGAL = "legal", _("Legal advice")
        HOUSING = "housing", _("Housing")
        POLICE = "police", _("Police")
        HEALTH = "health", _("Health")
        CHILDREN = "children", _("Children's services")
        PERPETRATOR = "perpetrator", _("Support to change behaviour")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.ADVICE)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.CASCADE, related_name="entries")
    description = models.CharField(max_length=500, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    hours = models.CharField(max_length=200, blank=True, help_text="As a person would say it: 'Mon-Fri 9:00-17:00'.")
    open_24h = models.BooleanField(default=False)
    website = models.URLField(blank=True)
    address = models.CharField(max_length=300, blank=True, help_text="Only a public address. Never a refuge's.")
    contact_route = models.CharField(
        max_length=300, blank=True, help_text="How to reach it, e.g. 'through the national helpline'."
    )
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "directory entries"
        constraints = [
            models.CheckConstraint(condition=~Q(kind="refuge") | Q(address=""), name="refuge_has_no_address"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.kind == self.Kind.REFUGE and self.address:
            raise ValidationError({"address": "A refuge's address is never given out; give its contact route."})
        if self.kind == self.Kind.REFUGE and not (self.contact_route or self.phone):
            raise ValidationError({"contact_route": "Say how a person reaches this refuge."})


class Schedule(models.Model):
    """The helpline's time zone (one row). Opening hours and holidays are read in it."""

    time_zone = models.CharField(max_length=64, default="Europe/London")

    def __str__(self) -> str:
        return self.time_zone

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.core.exceptions import ValidationError

        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValidationError({"time_zone": "Not a known time zone, e.g. Europe/London."}) from error


class OpeningHours(models.Model):
    """One opening period on a weekday (0 Monday ... 6 Sunday). A day may have several."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "opening hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.opens is not None and self.closes is not None and self.closes != time(0) and self.closes <= self.opens:
            raise ValidationError({"closes": "Closes after it opens (00:00 for midnight)."})


class Holiday(models.Model):
    """A date the chat is closed, or open for other hours than usual."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=100)
    opens = models.TimeField(null=True, blank=True, help_text="Empty: closed all day.")
    closes = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if (self.opens is None) != (self.closes is None):
            raise ValidationError("Give both opening and closing times, or neither for closed all day.")
        if self.opens and self.closes and self.closes != time(0) and self.closes <= self.opens:
            raise ValidationError({"closes": "Closes after it opens (00:00 for midnight)."})


from chat.embedding import EmbeddingSite  # noqa: E402, F401  (a model of this app, in a module of its own)
