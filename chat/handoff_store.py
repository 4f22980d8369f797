"""A take's reads, written out (chat.statements): the advisor's load, the queued chats they could
take, and the row of the one they take, locked.

At 1,000 conversations about ten takes reach a process together after each queue snapshot, and
each waits for those before it on the database thread. Through the ORM a take cost about 3.1 ms
of that thread, nine tenths of it in building and compiling querysets and instances; the rest of
a take (its assignment and the log entry saying so) goes through chat.statements and
chat.log_store too. `python -m bench.take` measures a take.
"""

import functools
from datetime import datetime
from uuid import UUID

from agents.models import StaffProfile
from chat import statements
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


# The queues' order, as the ORM queries of chat.services write it: ("-priority", "queue_key", "pk").
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
    queues = StaffProfile._meta.get_field("queues")
    through = queues.remote_field.through._meta  # type: ignore[union-attr]
    quote = statements.database().ops.quote_name
    picked = ", ".join(
        f"c.{conversation(name)}" for name in ("id", "queue", "language", "detected_language", "queued_at")
    )
    return (
        f"SELECT {picked} FROM {statements.table(Conversation)} c "  # noqa: S608
        f"WHERE c.{conversation('state')} = %s AND c.{conversation('queue')} IN ("
        f"SELECT s.{quote(queues.m2m_reverse_name())} FROM {quote(through.db_table)} s "
        f"WHERE s.{quote(queues.m2m_column_name())} = %s) "
        f"ORDER BY {_order('c')} LIMIT %s"
    )


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
def _lock_first_sql(vendor: str, count: int) -> str:
    conversation = functools.partial(statements.column, Conversation)
    return (
        f"SELECT {statements.select_list(Conversation, 'c')}, {statements.select_list(Queue, 'q')} "  # noqa: S608
        f"FROM {statements.table(Conversation)} c "
        f"INNER JOIN {statements.table(Queue)} q ON q.{statements.column(Queue, 'id')} = c.{conversation('queue')} "
        f"WHERE c.{conversation('id')} IN ({statements.marks(count)}) AND c.{conversation('state')} = %s "
        f"ORDER BY {_order('c')} LIMIT 1{statements.lock(skip_locked=True, of='c')}"
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
    if row is None:
        return None
    split = len(statements.concrete(Conversation))
    conversation = statements.instance(Conversation, row[:split])
    queue = statements.instance(Queue, row[split:])
    Conversation._meta.get_field("queue").set_cached_value(conversation, queue)
    return conversation
