"""Audit events refer to their case and referral by id only, so erasing a case leaves its events
behind as tombstones. SQLite rebuilds the table to drop the constraint, which drops its trigger
too: it is created again here."""

import django.db.models.deletion
from django.db import migrations, models

SQLITE_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS risk_auditevent_no_update BEFORE UPDATE ON risk_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
)


def restore_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0005_seed_checklist"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="case",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="audit",
                to="risk.caserecord",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="referral",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="audit",
                to="risk.referral",
            ),
        ),
        migrations.RunPython(restore_trigger, migrations.RunPython.noop),
    ]
