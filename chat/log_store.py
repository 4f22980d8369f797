"""The conversation log's hot path: a chat message written in two statements.

Every chat message of every conversation is written on Channels' one database thread, which all
the sockets of a process share. Through the ORM (a locking SELECT building a Conversation, an
UPDATE of its sequence numbers, then `Message.save`) a message cost 1.2-1.8 ms of CPU on SQLite,
about 0.2 ms of it in SQLite itself; here about 0.4 ms (`python -m bench.message_write`, which
measures both). It is one `UPDATE ... RETURNING`, which locks the conversation's row and takes
its next sequence numbers at once (as the locking SELECT did, on PostgreSQL; SQLite's IMMEDIATE
transaction locks the database), and one INSERT whose text is built once per process.

Only the common case is here: the visitor's message in their open chat past triage, the holder's
message in a chat they hold. When the row does not match (a chat in triage or closed, another
holder, a chat id gone stale), nothing was changed and None is returned: the caller takes the
ORM path, which finds out why and says so.
"""

import functools
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field
from django.utils import timezone

from chat.models import Conversation, Message

State = Conversation.State
VISITOR_SENDING_STATES: tuple[str, ...] = (State.QUEUED, State.ACTIVE, State.WAITING_VISITOR)
HOLDER_SENDING_STATES: tuple[str, ...] = tuple(Conversation.HELD_STATES)

_INSERTED = (
    "conversation_id",
    "seq",
    "public_seq",
    "client_msg_id",
    "kind",
    "sender_kind",
    "sender_user_id",
    "sender_name",
    "event",
    "data",
    "text",
    "created_at",
)


def _column(model: Any, name: str) -> str:
    return str(connection.ops.quote_name(model._meta.get_field(name).column))


@functools.cache
def _take_sql(vendor: str, by: str, states: int) -> str:
    table = connection.ops.quote_name(Conversation._meta.db_table)
    last, last_public = _column(Conversation, "last_seq"), _column(Conversation, "last_public_seq")
    marks = ", ".join(["%s"] * states)
    # Names only from the models' own metadata, quoted; every value is a parameter.
    return (
        f"UPDATE {table} SET {last} = {last} + 1, {last_public} = {last_public} + 1 "  # noqa: S608
        f"WHERE {_column(Conversation, 'id')} = %s AND {_column(Conversation, by)} = %s "
        f"AND {_column(Conversation, 'state')} IN ({marks}) "
        f"RETURNING {last}, {last_public}, {_column(Conversation, 'detected_language')}"
    )


@functools.cache
def _insert_sql(vendor: str) -> str:
    table = connection.ops.quote_name(Message._meta.db_table)
    columns = ", ".join(_column(Message, name) for name in _INSERTED)
    marks = ", ".join(["%s"] * len(_INSERTED))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {_column(Message, 'id')}"  # noqa: S608


@functools.cache
def _fields(model: Any, names: tuple[str, ...]) -> "tuple[Field[Any, Any], ...]":
    return tuple(model._meta.get_field(name) for name in names)


def _prep(model: Any, names: tuple[str, ...], values: Any) -> list[Any]:
    """Values as the ORM would pass them to this database (a name may be a field's attname).
    The connection is looked up once: each `connection.` goes through a context-local lookup,
    and with one for each value they were a tenth of a message's cost."""
    db = connections[DEFAULT_DB_ALIAS]
    return [field.get_db_prep_save(value, db) for field, value in zip(_fields(model, names), values, strict=True)]


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
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(
            _take_sql(db.vendor, by, len(states)),
            [*_prep(Conversation, ("id", by), (conversation_id, who)), *[str(state) for state in states]],
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
    values = {
        "conversation_id": conversation_id,
        "seq": seq,
        "public_seq": public_seq,
        "client_msg_id": client_msg_id,
        "kind": Message.Kind.TEXT,
        "sender_kind": sender_kind,
        "sender_user_id": sender_user_id,
        "sender_name": sender_name,
        "event": "",
        "data": {},
        "text": text,
        "created_at": timezone.now(),
    }
    db = connections[DEFAULT_DB_ALIAS]
    params = _prep(Message, _INSERTED, values.values())
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(db.vendor), params)
        row = cursor.fetchone()
    message = Message(id=row[0], **values)
    message._state.adding = False
    message._state.db = db.alias
    return message
