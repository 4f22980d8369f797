from django.db import migrations

SQLITE = [
    "CREATE TRIGGER risk_auditevent_no_update BEFORE UPDATE ON risk_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS risk_auditevent_no_update;"]
POSTGRES = [
    """
    CREATE FUNCTION risk_auditevent_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END;
    $$ LANGUAGE plpgsql;
    """,
    "CREATE TRIGGER risk_auditevent_no_change BEFORE UPDATE OR DELETE ON risk_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION risk_auditevent_append_only();",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS risk_auditevent_no_change ON risk_auditevent;",
    "DROP FUNCTION IF EXISTS risk_auditevent_append_only();",
]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Row deletes stay possible on SQLite only, where the test suite empties tables with DELETE;
    # PostgreSQL (production) refuses both. TRUNCATE, used to empty test databases, fires no row
    # trigger.
    statements = POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = POSTGRES_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
