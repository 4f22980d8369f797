"""A faster flush between transactional tests on PostgreSQL.

Django empties the database after each `transaction=True` test with one TRUNCATE of every table.
On PostgreSQL a TRUNCATE gives each table (and each of its indexes) a new file, which costs far
more than the test itself when the tables hold a few rows: most of the scaled run's time went
there. Here the flush deletes the rows instead, in one transaction, with triggers and foreign-key
checks off for that transaction only (`session_replication_role = replica`: every table is being
emptied, so no order is needed; the audit trail's append-only trigger would refuse a DELETE, as it
should anywhere else). Content types and permissions are kept: they are what Django's post-migrate
step would write again straight after, unchanged.

Each statement is a round trip, and on a loaded machine a round trip to the server waits for a turn
on a core: the flush is one statement, and Django's post-migrate step after it (two queries for each
installed app, to find content types and permissions already there) is left out.

The tests connect as a superuser (needed to create the test database), which that setting needs.
Sequences are left as TRUNCATE without RESTART IDENTITY leaves them; a flush that asks for them to
be reset gets Django's own statements.
"""

from typing import Any

from django.core.management.commands import flush
from django.db.backends.postgresql.operations import DatabaseOperations

KEPT = frozenset({"django_content_type", "auth_permission"})
_django_sql_flush = DatabaseOperations.sql_flush


def _sql_flush(
    self: DatabaseOperations,
    style: Any,
    tables: list[str],
    *,
    reset_sequences: bool = False,
    allow_cascade: bool = False,
) -> list[str]:
    if reset_sequences or not tables:
        return _django_sql_flush(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
    # Table names from Django's introspection of the test database, quoted.
    deletes = [f"DELETE FROM {self.quote_name(table)}" for table in tables if table not in KEPT]  # noqa: S608
    return ["; ".join(["SET LOCAL session_replication_role = replica", *deletes])]


def _post_flush(*args: Any, **kwargs: Any) -> None:
    """What post-migrate would write after a flush is what the flush kept."""


def install() -> None:
    DatabaseOperations.sql_flush = _sql_flush  # type: ignore[method-assign, assignment]
    flush.emit_post_migrate_signal = _post_flush  # type: ignore[attr-defined]
