"""The audit trail's events and chain head move to the agents app (agents.audit_models), so that
the apps below risk can write the trail without importing risk. The tables stay where they are,
under their old names: only Django's picture changes here, and agents' migration 0006 takes the
models over. The signed checkpoints stay in risk, with the key that signs them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0012_audit_names_records_by_id"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AuditChainHead"),
                migrations.DeleteModel(name="AuditEvent"),
            ],
        ),
    ]
