"""The audit trail becomes a hash chain (risk.audit): each event gets its place, the hash of the
event before it and its own hash; events already kept are chained in the order they were made.
Their `detail` keeps only what the trail may hold (no reasons or dates people wrote). The chain's
head and its signed checkpoints get their tables; checkpoints are append-only like events."""

import django.utils.timezone
from django.db import migrations, models

SQLITE_EVENT_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS risk_auditevent_no_update BEFORE UPDATE ON risk_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
)
SQLITE_CHECKPOINT = [
    "CREATE TRIGGER IF NOT EXISTS risk_auditcheckpoint_no_update BEFORE UPDATE ON risk_auditcheckpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;",
]
POSTGRES_CHECKPOINT = [
    "CREATE TRIGGER risk_auditcheckpoint_no_change BEFORE UPDATE OR DELETE ON risk_auditcheckpoint "
    "FOR EACH ROW EXECUTE FUNCTION risk_auditevent_append_only();",
]


def chain_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    from agents.audit import DETAIL_KEYS, GENESIS, canonical

    import hashlib

    AuditEvent = apps.get_model("risk", "AuditEvent")
    AuditChainHead = apps.get_model("risk", "AuditChainHead")
    alias = schema_editor.connection.alias
    postgres = schema_editor.connection.vendor == "postgresql"
    # Rewriting the existing rows once, here, as the table's owner.
    if postgres:
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("ALTER TABLE risk_auditevent DISABLE TRIGGER risk_auditevent_no_change")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS risk_auditevent_no_update")
    seq, prev = 0, GENESIS
    for event in AuditEvent.objects.using(alias).order_by("at", "pk").iterator():
        seq += 1
        detail = {k: v for k, v in (event.detail or {}).items() if k in DETAIL_KEYS}
        data = canonical(
            seq=seq,
            prev_hash=prev,
            at=event.at,
            actor_id=event.actor_id,
            action=event.action,
            case_id=event.case_id,
            referral_id=event.referral_id,
            detail=detail,
        )
        digest = hashlib.sha256(data).hexdigest()
        AuditEvent.objects.using(alias).filter(pk=event.pk).update(seq=seq, prev_hash=prev, hash=digest, detail=detail)
        prev = digest
    AuditChainHead.objects.using(alias).create(pk=1, seq=seq, hash=prev)
    if postgres:
        schema_editor.execute("ALTER TABLE risk_auditevent ENABLE TRIGGER risk_auditevent_no_change")


def protect(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_CHECKPOINT:
            schema_editor.execute(statement)
    else:
        for statement in [SQLITE_EVENT_TRIGGER, *SQLITE_CHECKPOINT]:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0007_merge_0006_audit_outlives_case_0006_signing_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(max_length=64)),
            ],
            options={"verbose_name": "audit chain head"},
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveBigIntegerField(editable=False)),
                ("hash", models.CharField(editable=False, max_length=64)),
                ("signed_at", models.DateTimeField(editable=False)),
                (
                    "reason",
                    models.CharField(
                        choices=[("schedule", "Scheduled"), ("export", "Transcript export"), ("manual", "Operator")],
                        editable=False,
                        max_length=10,
                    ),
                ),
                ("key_id", models.CharField(editable=False, max_length=40)),
                ("signature", models.CharField(editable=False, max_length=100)),
            ],
            options={"ordering": ["seq", "pk"]},
        ),
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["seq"]}),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(db_index=True, default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False, unique=True),
        ),
        migrations.RunPython(protect, migrations.RunPython.noop),
    ]
