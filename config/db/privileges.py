"""Least privilege on PostgreSQL: the owner role migrates, the runtime role only uses.

The server and the workers connect as the runtime role (DATABASE_URL), which owns nothing: it
cannot alter, truncate or drop a table, nor switch off a trigger. `manage.py migrate` connects as
the owner role (MIGRATION_DATABASE_URL) and, after migrating, grants the runtime role what it
needs on every table, minus what the append-only records must never allow (below). docs/
deployment.md gives the SQL that creates both roles."""

from typing import Any

# The audit trail and its checkpoints: read and appended to, never changed or removed.
APPEND_ONLY = ("risk_auditevent", "risk_auditcheckpoint")
# Records that change but are never removed (signing keys: old signatures must stay checkable).
NEVER_DELETED = ("risk_signingkey",)
# Bookkeeping the runtime role only reads.
READ_ONLY = ("django_migrations",)


def quote(identifier: str) -> str:
    """A PostgreSQL identifier, quoted (embedded quotes doubled)."""
    if not identifier or "\x00" in identifier:
        raise ValueError("an empty identifier, or one with a NUL character")
    return '"' + identifier.replace('"', '""') + '"'


def grant_statements(*, runtime_role: str, existing_tables: set[str]) -> list[str]:
    """The statements that leave `runtime_role` with exactly the rights it needs on the tables
    of the public schema (run by their owner; safe to run again)."""
    role = quote(runtime_role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    for table in APPEND_ONLY:
        if table in existing_tables:
            statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {quote(table)} FROM {role}")
    for table in NEVER_DELETED:
        if table in existing_tables:
            statements.append(f"REVOKE DELETE, TRUNCATE ON {quote(table)} FROM {role}")
    for table in READ_ONLY:
        if table in existing_tables:
            statements.append(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {quote(table)} FROM {role}")
    return statements


def grant_runtime(connection: Any, *, runtime_role: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = {row[0] for row in cursor.fetchall()}
        statements = grant_statements(runtime_role=runtime_role, existing_tables=tables)
        for statement in statements:
            cursor.execute(statement)
    return statements
