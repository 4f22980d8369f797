from django.db import migrations


def seed(apps, schema_editor):
    """2026.1, the version that shipped as code, published and current: existing assessments
    record "2026.1" and keep reading it."""
    from django.utils import timezone

    from risk.checklist import SHIPPED

    ChecklistVersion = apps.get_model("risk", "ChecklistVersion")
    if ChecklistVersion.objects.filter(version=SHIPPED.version).exists():
        return
    ChecklistVersion.objects.create(
        version=SHIPPED.version,
        notes="The first version, shipped with the product.",
        definition=SHIPPED.definition(),
        state="published",
        is_current=not ChecklistVersion.objects.filter(is_current=True).exists(),
        published_at=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("risk", "0004_checklistversion")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
