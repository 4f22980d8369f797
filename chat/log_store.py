"""The conversation log's hot path: a chat message written in two statements.

Every chat message of every conversation is written on Channels' one database thread, which all
the sockets of a process share. Through the ORM (a locking SELECT building a Conversation, an
UPDATE of its sequence numbers, then `Message.save`) a message cost several times what it costs
here, most of it in building and compiling querysets and instances, not in the database
(`python -m bench.message_write` measures both). It is one `UPDATE ... RETURNING`, which locks
the conversation's row and takes its next sequence numbers at once (as the locking SELECT did,
on PostgreSQL; SQLite's IMMEDIATE transaction locks the database), and one INSERT whose text is
built once per process.

Only the common case is here: the visitor's message in their open chat past triage, the holder's
message in a chat they hold. When the row does not match (a chat in triage or closed, another
holder, a chat id gone stale), nothing was changed and None is returned: the caller takes the
ORM path, which finds out why and says so.

The log's other entries (events, notes, whispers) are appended by `append` with the
conversation's row already locked by the caller: one UPDATE of its numbers (and of whatever the
caller changed in the same step, a take's new state and holder say) and one INSERT, written out
(chat.statements) rather than through the ORM's `update` and `create`, which cost a take more
of the database thread than the rest of it.
"""

import functools
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from chat import statements
from chat.models import Conversation, Message

State = Conversation.State
VISITOR_SENDING_STATES: tuple[str, ...] = (State.QUEUED, State.ACTIVE, State.WAITING_VISITOR)
HOLDER_SENDING_STATES: tuple[str, ...] = tuple(Conversation.HELD_STATES)


@functools.cache
def _take_sql(vendor: str, by: str, states: int) -> str:
    table, column = statements.table(Conversation), functools.partial(statements.column, Conversation)
    last, last_public = column("last_seq"), column("last_public_seq")
    return (
        f"UPDATE {table} SET {last} = {last} + 1, {last_public} = {last_public} + 1 "  # noqa: S608
        f"WHERE {column('id')} = %s AND {column(by)} = %s "
        f"AND {column('state')} IN ({statements.marks(states)}) "
        f"RETURNING {last}, {last_public}, {column('detected_language')}"
    )


def take_public_seq(
    *, conversation_id: UUID, visitor_id: UUID | None = None, holder_id: int | None = None
) -> tuple[int, int, str] | None:
    """In a transaction: the conversation's next (seq, public_seq) and its detected language,
    the row locked until the transaction ends; None (and nothing changed) when the chat is not
    this visitor's and open past triage, or not held by this holder."""
    who: UUID | int
    if visitor_id is not None:
        by, who, states = "visitor", visitor_id, VISITOR_SENDING_STATES
    else:
        assert holder_id is not None
        by, who, states = "assigned_to", holder_id, HOLDER_SENDING_STATES
    db = statements.database()
    with db.cursor() as cursor:
        cursor.execute(
            _take_sql(db.vendor, by, len(states)),
            [*statements.prep(Conversation, ("id", by), (conversation_id, who)), *[str(state) for state in states]],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return int(row[0]), int(row[1]), str(row[2] or "")


def insert_text(
    *,
    conversation_id: UUID,
    seq: int,
    public_seq: int,
    client_msg_id: str,
    sender_kind: str,
    text: str,
    sender_user_id: int | None = None,
    sender_name: str = "",
) -> Message:
    """Insert a public text message with the numbers `take_public_seq` gave. A client_msg_id
    already stored raises IntegrityError, as `Message.objects.create` would."""
    return insert_entry(
        conversation_id=conversation_id,
        seq=seq,
        public_seq=public_seq,
        client_msg_id=client_msg_id,
        kind=Message.Kind.TEXT,
        sender_kind=sender_kind,
        text=text,
        sender_user_id=sender_user_id,
        sender_name=sender_name,
    )


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
    message = Message(id=pk, **values)
    message._state.adding = False
    message._state.db = DEFAULT_DB_ALIAS
    return message


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
