"""Messaging channels' own state: for Telegram, the link between a Telegram chat and our
conversation, the updates received, and what is waiting to be sent.

Telegram's chat id is kept only while the link is open (its conversation open, or the last
messages to it still going out); it is cleared when the link finishes. Nothing here holds a
name, a username, a phone number or a photo: updates are stored only as far as the bot needs
them (messenger/telegram/schemas.py), and their text is cleared once processed.
"""

from django.db import models


class TelegramChat(models.Model):
    class Phase(models.TextChoices):
        TRIAGE = "triage"  # the questions, one at a time
        OPTIONS = "options"  # talk to an advisor, or the services near you
        CHAT = "chat"  # queued or with an advisor: text goes into the conversation
        FINISHING = "finishing"  # the last messages going out; then the ids go
        FINISHED = "finished"

    conversation = models.OneToOneField(
        "chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="telegram"
    )
    chat_id = models.BigIntegerField(null=True, blank=True)
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.TRIAGE)
    language = models.CharField(max_length=16, blank=True)
    # Triage in progress: the question being asked (its index in the flow), the answers so far.
    step = models.PositiveSmallIntegerField(default=0)
    answers = models.JSONField(default=dict, blank=True)
    # The messages of this Telegram chat, the bot's and the visitor's: [message id, unix time]
    # (for /exit: the Bot API deletes messages up to 48 hours old).
    messages = models.JSONField(default=list, blank=True)
    # The conversation's entries for the visitor (public_seq) already put in the outbox.
    logged_seq = models.PositiveIntegerField(default=0)
    # When the last message went to this chat (unix time), for the per-chat rate limit.
    last_sent_at = models.FloatField(default=0)
    waiting_note_at = models.DateTimeField(null=True, blank=True)
    exited = models.BooleanField(default=False)
    unreachable = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A finishing link (its last messages going out) may overlap a new one for the chat.
            models.UniqueConstraint(
                fields=["chat_id"],
                condition=models.Q(phase__in=["triage", "options", "chat"]),
                name="telegram_one_open_link_per_chat",
            )
        ]

    def __str__(self) -> str:
        return f"Telegram link {self.pk} ({self.phase})"


class TelegramUpdate(models.Model):
    """An update as received, stored before it is acknowledged; `update_id` makes a resent one a
    no-op. Processed in update_id order per chat; the chat id and the content are cleared then."""

    update_id = models.BigIntegerField(unique=True)
    kind = models.CharField(max_length=20)
    chat_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"Telegram update {self.update_id}"


class TelegramOutbox(models.Model):
    """One call to make to the Bot API for a link, sent once and in order (by id)."""

    class Kind(models.TextChoices):
        SEND = "send"  # sendMessage (payload: text, buttons)
        EDIT = "edit"  # editMessageText of one of ours (payload: message_ref or message_id, text)
        ANSWER = "answer"  # answerCallbackQuery (payload: callback_query_id)
        DELETE = "delete"  # deleteMessages: every message of the chat we still may delete
        FINISH = "finish"  # not a call: the link's ids are cleared once everything before it went

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"  # claimed by a sender, the call under way (claimed_at)
        SENT = "sent"
        FAILED = "failed"
        CANCELLED = "cancelled"

    link = models.ForeignKey(TelegramChat, on_delete=models.CASCADE, related_name="outbox")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField(default=dict, blank=True)
    # The log entry this carries (its public_seq), when it carries one.
    seq = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The Telegram id of the message a `send` made.
    message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["link", "state", "id"], name="telegram_outbox_pending")]

    def __str__(self) -> str:
        return f"Telegram {self.kind} {self.pk} ({self.state})"
