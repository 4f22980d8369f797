import json
from pathlib import Path

from django.db import migrations

SHIPPED = Path(__file__).resolve().parent.parent / "checklists" / "2026.1.json"


def seed(apps, schema_editor):
    """2026.1, the version that shipped as code, published and current: existing assessments
    record "2026.1" and keep reading it."""
    from django.utils import timezone

    ChecklistVersion = apps.get_model("risk", "ChecklistVersion")
    if ChecklistVersion.objects.filter(version="2026.1").exists():
        return
    ChecklistVersion.objects.create(
        version="2026.1",
        notes="The first version, shipped with the product.",
        definition=json.loads(SHIPPED.read_text(encoding="utf-8")),
        state="published",
        is_current=not ChecklistVersion.objects.filter(is_current=True).exists(),
        published_at=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("risk", "0004_checklistversion")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
