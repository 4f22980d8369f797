"""The owner and runtime database roles: what `migrate` grants, and what it refuses. The scaled
test tests/scaled/test_least_privilege.py proves the grants on a real PostgreSQL."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from config.db.privileges import grant_statements, quote


def test_the_runtime_role_gets_no_way_to_change_the_audit_trail() -> None:
    tables = {"risk_auditevent", "risk_auditcheckpoint", "risk_signingkey", "django_migrations", "chat_message"}
    statements = grant_statements(runtime_role="helpline_app", existing_tables=tables)
    assert statements[:3] == [
        'GRANT USAGE ON SCHEMA public TO "helpline_app"',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "helpline_app"',
        'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "helpline_app"',
    ]
    assert 'REVOKE UPDATE, DELETE, TRUNCATE ON "risk_auditevent" FROM "helpline_app"' in statements
    assert 'REVOKE UPDATE, DELETE, TRUNCATE ON "risk_auditcheckpoint" FROM "helpline_app"' in statements
    assert 'REVOKE DELETE, TRUNCATE ON "risk_signingkey" FROM "helpline_app"' in statements
    assert 'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON "django_migrations" FROM "helpline_app"' in statements
    # Tables a migration has not made yet are left out rather than failing the statement.
    assert not any("risk_auditcheckpoint" in s for s in grant_statements(runtime_role="a", existing_tables=set()))


def test_role_names_are_quoted_whatever_they_hold() -> None:
    assert quote('app"; DROP TABLE risk_auditevent; --') == '"app""; DROP TABLE risk_auditevent; --"'
    with pytest.raises(ValueError):
        quote("")
    with pytest.raises(ValueError):
        quote("a\x00b")


@pytest.mark.django_db
def test_migrate_with_an_owner_url_refuses_sqlite(settings: object) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the embedded profile's refusal; the scaled test migrates as an owner")
    settings.MIGRATION_DATABASE_URL = "postgres://helpline_owner@127.0.0.1:5432/helpline"  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="MIGRATION_DATABASE_URL is for PostgreSQL"):
        call_command("migrate", "--check", verbosity=0)
