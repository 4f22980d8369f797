"""Least privilege on PostgreSQL: migrations run as an owner role; the runtime role the server
and workers use owns nothing and cannot switch the audit trail's triggers off, truncate it or
delete from it - while the product works as that role.

Each run makes its own two roles and database (a per-run suffix keeps concurrent runs apart) and
removes them afterwards."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest
from psycopg import errors, sql

from tests.support.live import ROOT

pytestmark = pytest.mark.scaled

WORKLOAD = """
from django.core.management import call_command
from risk import checkpoints, services, snapshots
from agents.audit_models import AuditEvent
from risk.models import CaseRecord
from tests import factories
from tests.factories import chat_with

factories.queues()
advisor, other = factories.staff(), factories.staff()
conversation = chat_with(advisor)
case = services.case_open(user=advisor, conversation_id=conversation.pk)
services.case_note_add(user=advisor, case_id=case.pk, text="a note")
snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
snapshots.snapshot_for_user(user=advisor, snapshot_id=snapshot.pk, action="export_json")
try:
    services.case_for_user(user=other, case_id=case.pk)
except services.NotFound:
    pass
# A case with nothing sealed can be erased; its events stay behind.
second = services.case_open(user=advisor, conversation_id=chat_with(advisor).pk)
CaseRecord.objects.filter(pk=second.pk).delete()
assert AuditEvent.objects.filter(case_id=second.pk).exists()
assert checkpoints.checkpoint_sign(reason="manual") is not None
call_command("verify_audit")
print("WORKLOAD DONE", AuditEvent.objects.count())
"""


def server() -> dict[str, Any]:
    url = urlparse(os.environ["DATABASE_URL"])
    return {"host": url.hostname or "127.0.0.1", "port": url.port or 5432, "user": url.username or "postgres"}


def admin() -> psycopg.Connection[Any]:
    return psycopg.connect(**server(), dbname="postgres", autocommit=True)


@pytest.fixture
def roles(tmp_path: Any) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:10]
    names = {"owner": f"helpline_owner_{suffix}", "app": f"helpline_app_{suffix}", "db": f"helpline_lp_{suffix}"}
    owner, app, db = (sql.Identifier(names[k]) for k in ("owner", "app", "db"))
    with admin() as conn:
        # The SQL docs/deployment.md gives (here without passwords: the test server trusts local users).
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(owner))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(app))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, owner))
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, app))
    with psycopg.connect(**{**server(), "user": names["owner"]}, dbname=names["db"], autocommit=True) as conn:
        conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        conn.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(owner, app)
        )
        conn.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
            ).format(owner, app)
        )
    names["keys"] = str(tmp_path / "keys")
    try:
        yield names
    finally:
        with admin() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [names["db"]],
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(db))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(app))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(owner))


def manage(names: dict[str, str], *args: str, owner: bool = False) -> subprocess.CompletedProcess[str]:
    place = f"{server()['host']}:{server()['port']}/{names['db']}"
    env = {
        key: value for key, value in os.environ.items() if key not in ("TEST_DB_NAME", "REDIS_URL", "CHANNEL_PREFIX")
    }
    env.update(
        {
            "DATABASE_URL": f"postgres://{names['app']}@{place}",
            "SIGNING_KEY_DIR": names["keys"],
            "SIGNING_KEY_AUTOCREATE": "1",
        }
    )
    if owner:
        env["MIGRATION_DATABASE_URL"] = f"postgres://{names['owner']}@{place}"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def refused(conn: psycopg.Connection[Any], statement: str) -> str:
    with pytest.raises(errors.InsufficientPrivilege) as failure:
        conn.execute(statement)
    return str(failure.value)


def test_the_runtime_role_cannot_touch_the_audit_trail(roles: dict[str, str]) -> None:
    migrated = manage(roles, "migrate", "--noinput", owner=True)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert f"Granted {roles['app']} its rights" in migrated.stdout

    # The product works as the runtime role: cases, notes, snapshots, exports, refusals, erasure,
    # checkpoints, and the chain verifies.
    work = manage(roles, "shell", "-c", WORKLOAD)
    assert work.returncode == 0, work.stdout + work.stderr
    assert "WORKLOAD DONE" in work.stdout

    with psycopg.connect(**{**server(), "user": roles["app"]}, dbname=roles["db"], autocommit=True) as conn:
        owned = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = %s",
            [roles["app"]],
        ).fetchone()
        assert owned == (0,)
        before = conn.execute("SELECT count(*) FROM risk_auditevent").fetchone()
        assert before is not None and before[0] > 5
        for table in ("risk_auditevent", "risk_auditcheckpoint"):
            assert "must be owner" in refused(conn, f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            assert "must be owner" in refused(conn, f"ALTER TABLE {table} DISABLE TRIGGER USER")
            assert "permission denied" in refused(conn, f"TRUNCATE {table}")
            assert "permission denied" in refused(conn, f"DELETE FROM {table}")  # noqa: S608 (a constant)
            assert "permission denied" in refused(conn, f"UPDATE {table} SET seq = seq")  # noqa: S608
            assert "must be owner" in refused(conn, f"DROP TABLE {table}")
        assert "must be owner" in refused(conn, "DROP TRIGGER risk_auditevent_no_change ON risk_auditevent")
        assert "must be owner" in refused(conn, "DROP FUNCTION risk_auditevent_append_only()")
        assert "permission denied" in refused(conn, "CREATE TABLE shadow (id int)")
        assert "permission denied" in refused(conn, "DELETE FROM django_migrations")
        assert conn.execute("SELECT count(*) FROM risk_auditevent").fetchone() == before

    verified = manage(roles, "verify_audit")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK:" in verified.stdout and "checkpoint(s) verified" in verified.stdout
