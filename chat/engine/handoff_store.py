"""A take's reads, written out (chat.engine.statements): the advisor's load, the queued chats they could
take, whether they serve a queue, and the row of the one they take, locked, with its queue.

Under load several takes reach a process together after each queue snapshot, and each waits
for those before it on the database thread. Through the ORM most of a take's cost on that
thread was in building and compiling querysets and instances; written out, a fraction of it.
The rest of a take (its assignment and the log entry
saying so) goes through chat.engine.statements and chat.engine.log_store too. `python -m bench.take` measures
both kinds.
"""

import functools
from datetime import datetime
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS

from agents.models import StaffProfile
from chat.engine import statements
from chat.models import Conversation, Queue

State = Conversation.State


@functools.cache
def _load_sql(vendor: str, states: int) -> str:
    column = functools.partial(statements.column, Conversation)
    return (
        f"SELECT COUNT(*) FROM {statements.table(Conversation)} "  # noqa: S608
        f"WHERE {column('assigned_to')} = %s AND {column('state')} IN ({statements.marks(states)})"
    )


def load(user_id: int) -> int:
    """How many chats the staff member holds."""
    db = statements.database()
    states = tuple(Conversation.HELD_STATES)
    with db.cursor() as cursor:
        cursor.execute(_load_sql(db.vendor, len(states)), [user_id, *(str(state) for state in states)])
        row = cursor.fetchone()
    return int(row[0])


# The queues' order, as the ORM queries of chat.services.handoff write it: ("-priority", "queue_key", "pk").
_ORDER = ("priority DESC", "queue_key ASC", "id ASC")


def _order(alias: str) -> str:
    terms = []
    for term in _ORDER:
        name, direction = term.split()
        terms.append(f"{alias}.{statements.column(Conversation, name)} {direction}")
    return ", ".join(terms)


@functools.cache
def _candidates_sql(vendor: str) -> str:
    conversation = functools.partial(statements.column, Conversation)
    served, by_profile, queue = _served_queues()
    picked = ", ".join(
        f"c.{conversation(name)}" for name in ("id", "queue", "language", "detected_language", "queued_at")
    )
    return (
        f"SELECT {picked} FROM {statements.table(Conversation)} c "  # noqa: S608
        f"WHERE c.{conversation('state')} = %s AND c.{conversation('queue')} IN ("
        f"SELECT s.{queue} FROM {served} s WHERE s.{by_profile} = %s) "
        f"ORDER BY {_order('c')} LIMIT %s"
    )


def _served_queues() -> tuple[str, str, str]:
    """The table of which staff profile serves which queue, and its two columns, quoted."""
    queues = StaffProfile._meta.get_field("queues")
    through = queues.remote_field.through._meta  # type: ignore[union-attr]
    quote = statements.database().ops.quote_name
    return quote(through.db_table), quote(queues.m2m_column_name()), quote(queues.m2m_reverse_name())


_CANDIDATE = ("id", "queue_id", "language", "detected_language", "queued_at")


def queued_for(profile_id: int, limit: int) -> list[tuple[UUID, int, str, str, datetime | None]]:
    """The first `limit` queued chats of the queues the staff profile serves, in queue order:
    (id, queue id, language, detected language, queued at)."""
    db = statements.database()
    with db.cursor() as cursor:
        cursor.execute(_candidates_sql(db.vendor), [str(State.QUEUED), profile_id, limit])
        rows = cursor.fetchall()
    return [tuple(statements.read(Conversation, _CANDIDATE, row)) for row in rows]


@functools.cache
def _serves_sql(vendor: str) -> str:
    served, by_profile, queue = _served_queues()
    profile = functools.partial(statements.column, StaffProfile)
    return (
        f"SELECT 1 FROM {served} s "  # noqa: S608
        f"INNER JOIN {statements.table(StaffProfile)} p ON p.{profile('id')} = s.{by_profile} "
        f"WHERE p.{profile('user')} = %s AND s.{queue} = %s LIMIT 1"
    )


def serves(user_id: int, queue_id: int) -> bool:
    """Whether the staff member serves the queue."""
    db = statements.database()
    with db.cursor() as cursor:
        cursor.execute(_serves_sql(db.vendor), [user_id, queue_id])
        return cursor.fetchone() is not None


def _with_queue(where: str, *, order: bool, skip_locked: bool) -> str:
    """A SELECT of conversations (alias c) and their queue (q, absent for a chat in triage)."""
    conversation = functools.partial(statements.column, Conversation)
    first = f" ORDER BY {_order('c')} LIMIT 1" if order else ""
    return (
        f"SELECT {statements.select_list(Conversation, 'c')}, {statements.select_list(Queue, 'q')} "  # noqa: S608
        f"FROM {statements.table(Conversation)} c "
        f"LEFT JOIN {statements.table(Queue)} q ON q.{statements.column(Queue, 'id')} = c.{conversation('queue')} "
        f"WHERE {where}{first}"
        f"{statements.lock(skip_locked=skip_locked, of='c')}"
    )


def _conversation_with_queue(row: tuple[object, ...]) -> Conversation:
    split = len(statements.concrete(Conversation))
    conversation = statements.instance(Conversation, row[:split])
    queue = statements.instance(Queue, row[split:]) if row[split] is not None else None
    Conversation._meta.get_field("queue").set_cached_value(conversation, queue)
    return conversation


@functools.cache
def _lock_sql(vendor: str) -> str:
    return _with_queue(f"c.{statements.column(Conversation, 'id')} = %s", order=False, skip_locked=False)


def lock(conversation_id: UUID) -> Conversation | None:
    """The conversation, its row locked until the transaction ends, with its queue (if any)."""
    db = statements.database()
    with db.cursor() as cursor:
        cursor.execute(_lock_sql(db.vendor), statements.prep(Conversation, ("id",), (conversation_id,)))
        row = cursor.fetchone()
    return None if row is None else _conversation_with_queue(row)


# What the gates check and what appending to the log takes from the row (log_store.append).
FOR_ENTRY = frozenset(
    {"id", "visitor_id", "assigned_to_id", "state", "last_seq", "last_public_seq", "detected_language", "channel"}
)


@functools.cache
def _for_entry() -> tuple[str, ...]:
    """FOR_ENTRY in the model's field order, as `Model.from_db` takes a partial row."""
    return tuple(name for name in statements.concrete(Conversation) if name in FOR_ENTRY)


@functools.cache
def _lock_for_entry_sql(vendor: str) -> str:
    picked = ", ".join(statements.column(Conversation, name) for name in _for_entry())
    return (
        f"SELECT {picked} FROM {statements.table(Conversation)} "  # noqa: S608
        f"WHERE {statements.column(Conversation, 'id')} = %s{statements.lock()}"
    )


def lock_for_entry(conversation_id: UUID) -> Conversation | None:
    """The conversation's row locked, read only as far as a chat message needs it
    (`FOR_ENTRY`; its other fields are deferred): building the whole row and its queue cost
    more than the message's own statements."""
    db = statements.database()
    with db.cursor() as cursor:
        cursor.execute(_lock_for_entry_sql(db.vendor), statements.prep(Conversation, ("id",), (conversation_id,)))
        row = cursor.fetchone()
    if row is None:
        return None
    names = _for_entry()
    return Conversation.from_db(DEFAULT_DB_ALIAS, list(names), statements.read(Conversation, names, row))


@functools.cache
def _lock_first_sql(vendor: str, count: int) -> str:
    conversation = functools.partial(statements.column, Conversation)
    return _with_queue(
        f"c.{conversation('id')} IN ({statements.marks(count)}) AND c.{conversation('state')} = %s",
        order=True,
        skip_locked=True,
    )


def lock_first_queued(ids: list[UUID]) -> Conversation | None:
    """The first of these chats still queued, in queue order, its row locked (one another
    advisor is taking right now is skipped, not waited for), with its queue; None if none is."""
    if not ids:
        return None
    db = statements.database()
    params = [*statements.prep_each(Conversation, "id", ids), str(State.QUEUED)]
    with db.cursor() as cursor:
        cursor.execute(_lock_first_sql(db.vendor, len(ids)), params)
        row = cursor.fetchone()
    return None if row is None else _conversation_with_queue(row)
