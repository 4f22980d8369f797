"""A Telegram chat the bot can no longer write to (the visitor blocked the bot or deleted the
chat): the advisor is told in the conversation's log, as a staff-only entry, once; nothing more
is tried."""

from uuid import UUID

from django.db import transaction

from chat.models import Conversation, Message
from chat.services.kernel import entry_append
from messenger.models import TelegramChat, TelegramOutbox

UNREACHABLE_EVENT = "channel_unreachable"
UNDELIVERED_EVENT = "channel_undelivered"


def _report(conversation_id: UUID, *, event: str, text: str) -> None:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
        if conversation is None or conversation.state == Conversation.State.CLOSED:
            return
        entry_append(
            conversation,
            kind=Message.Kind.EVENT,
            sender_kind=Message.Sender.SYSTEM,
            event=event,
            text=text,
            public=False,
            data={"channel": "telegram"},
        )


def link_unreachable(link: TelegramChat, *, reason: str) -> None:
    """The link's row is locked by the caller. Everything still waiting is dropped."""
    if link.unreachable:
        return
    link.unreachable = True
    link.save(update_fields=["unreachable"])
    link.outbox.filter(state=TelegramOutbox.State.PENDING).exclude(kind=TelegramOutbox.Kind.FINISH).update(
        state=TelegramOutbox.State.CANCELLED
    )
    if link.conversation_id is not None:
        _report(
            link.conversation_id,
            event=UNREACHABLE_EVENT,
            text=f"Messages can no longer reach this visitor on Telegram: {reason} Nothing more will be delivered.",
        )


def entry_undelivered(link: TelegramChat, *, detail: str) -> None:
    """One message Telegram refused (the chat itself still reachable)."""
    if link.conversation_id is not None:
        _report(
            link.conversation_id,
            event=UNDELIVERED_EVENT,
            text=f"Telegram refused a message to this visitor ({detail}); it was not delivered.",
        )
