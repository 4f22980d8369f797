"""The audit trail's events and chain head, taken over from the risk app (risk's migration 0013
lets them go). The tables were made by risk's migrations and keep their names, their rows, their
indexes and their append-only triggers: nothing is done to the database but renaming the two
models' content types, so that permissions given on them and the admin's log keep pointing at
them."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = ("auditevent", "auditchainhead")


def content_types_to(apps, schema_editor, *, source, target):  # type: ignore[no-untyped-def]
    content_type = apps.get_model("contenttypes", "ContentType")
    alias = schema_editor.connection.alias
    for model in MODELS:
        if content_type.objects.using(alias).filter(app_label=target, model=model).exists():
            continue  # already there (made by a run of post_migrate): leave both as they are
        content_type.objects.using(alias).filter(app_label=source, model=model).update(app_label=target)


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    content_types_to(apps, schema_editor, source="risk", target="agents")


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    content_types_to(apps, schema_editor, source="agents", target="risk")


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0005_contact_record"),
        ("risk", "0013_audit_trail_to_agents"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditChainHead",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("seq", models.PositiveBigIntegerField(default=0)),
                        ("hash", models.CharField(max_length=64)),
                    ],
                    options={"verbose_name": "audit chain head", "db_table": "risk_auditchainhead"},
                ),
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False)),
                        ("action", models.CharField(max_length=40)),
                        ("case_id", models.UUIDField(blank=True, db_index=True, null=True)),
                        ("referral_id", models.UUIDField(blank=True, db_index=True, null=True)),
                        ("detail", models.JSONField(blank=True, default=dict)),
                        ("seq", models.PositiveBigIntegerField(editable=False, unique=True)),
                        ("prev_hash", models.CharField(editable=False, max_length=64)),
                        ("hash", models.CharField(db_index=True, editable=False, max_length=64)),
                        (
                            "actor",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "risk_auditevent", "ordering": ["seq"]},
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
