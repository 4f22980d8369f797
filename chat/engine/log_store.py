"""The conversation log's hot path: an entry appended in two written-out statements.

Every chat message of every conversation is written on Channels' one database thread, which all
the sockets of a process share. Through the ORM (an UPDATE of the conversation's sequence
numbers, then `Message.save`) building querysets and instances cost several times what the
statements themselves do; here one UPDATE of its numbers (and of whatever the caller changed in
the same step, a take's new state and holder say) and one INSERT, written out
(chat.engine.statements) with their text built once per process. `python -m bench.message_write`
measures a message's cost.

The caller has locked the conversation's row (its permission gate, chat.services.kernel, reads
it locked in one written-out statement, chat.engine.handoff_store), so the numbers it takes are
the next ones and only writers to the same conversation wait for each other.
"""

from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from chat.engine import statements
from chat.models import Conversation, Message


def insert_entry(
    *,
    conversation_id: UUID,
    seq: int,
    public_seq: int | None,
    kind: str,
    sender_kind: str,
    client_msg_id: str | None = None,
    text: str = "",
    event: str = "",
    data: dict[str, Any] | None = None,
    sender_user_id: int | None = None,
    sender_name: str = "",
) -> Message:
    """Insert an entry of the log with numbers its caller took, as `Message.objects.create`
    would (a client_msg_id already stored raises IntegrityError), and return it."""
    values = {
        "conversation_id": conversation_id,
        "seq": seq,
        "public_seq": public_seq,
        "client_msg_id": client_msg_id,
        "kind": kind,
        "sender_kind": sender_kind,
        "sender_user_id": sender_user_id,
        "sender_name": sender_name,
        "event": event,
        "data": data or {},
        "text": text,
        "created_at": timezone.now(),
    }
    pk = statements.insert(Message, values)
    # Built as a queryset builds a row (positional, saved): cheaper than Message(**values).
    names = statements.concrete(Message)
    return Message.from_db(DEFAULT_DB_ALIAS, list(names), [pk, *(values[name] for name in names[1:])])


def append(conversation: Conversation, *, public: bool, also_saving: tuple[str, ...] = (), **entry: Any) -> Message:
    """Append an entry to the log of a conversation whose row the caller has locked: its next
    seq (and public_seq when `public`) saved with the fields named in `also_saving` (attnames
    the caller changed) in one UPDATE, then the entry inserted (`insert_entry`'s fields)."""
    conversation.last_seq += 1
    public_seq = None
    if public:
        conversation.last_public_seq += 1
        public_seq = conversation.last_public_seq
    saved = {"last_seq": conversation.last_seq, "last_public_seq": conversation.last_public_seq}
    statements.update(
        Conversation, conversation.pk, saved | {name: getattr(conversation, name) for name in also_saving}
    )
    message = insert_entry(conversation_id=conversation.pk, seq=conversation.last_seq, public_seq=public_seq, **entry)
    Message._meta.get_field("conversation").set_cached_value(message, conversation)
    return message
