"""Audit events name their case and referral by id in plain UUID columns instead of relations
without a constraint. The columns (`case_id`, `referral_id`), their type and their indexes stay as
they are: only Django's picture of them changes, so no table is rebuilt (on SQLite a rebuild would
drop the append-only trigger) and no event's hash changes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0011_riskstatistic"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="auditevent", name="case"),
                migrations.RemoveField(model_name="auditevent", name="referral"),
                migrations.AddField(
                    model_name="auditevent",
                    name="case_id",
                    field=models.UUIDField(blank=True, db_index=True, null=True),
                ),
                migrations.AddField(
                    model_name="auditevent",
                    name="referral_id",
                    field=models.UUIDField(blank=True, db_index=True, null=True),
                ),
            ],
        ),
    ]
