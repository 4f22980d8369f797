import json
from pathlib import Path

from django.db import migrations

SHIPPED = Path(__file__).resolve().parent.parent / "checklists"
SEEDED = {
    "2026.2": "Adds the details to tick on five items, the professional's section, the prompts to "
    "consider professional judgement, and the audience, score bands and triggers as data.",
    "YP-2026.1": "The first version for young people aged 13 to 17, worded for them.",
}


def seed(apps, schema_editor):
    """2026.2 (adults) and YP-2026.1 (young people), published, each current for its audience in
    place of the one before (2026.1 stays published). A label already taken (a draft someone
    copied as 2026.2, say) is left as it is and that version is not seeded."""
    from django.utils import timezone

    ChecklistVersion = apps.get_model("risk", "ChecklistVersion")
    for version, notes in SEEDED.items():
        if ChecklistVersion.objects.filter(version=version).exists():
            continue
        definition = json.loads((SHIPPED / f"{version}.json").read_text(encoding="utf-8"))
        audience = definition["audience"]["key"]
        ChecklistVersion.objects.filter(is_current=True, audience=audience).update(is_current=False)
        ChecklistVersion.objects.create(
            version=version,
            notes=notes,
            definition=definition,
            state="published",
            is_current=True,
            audience=audience,
            based_on=ChecklistVersion.objects.filter(version="2026.1").first(),
            published_at=timezone.now(),
        )


def unseed(apps, schema_editor):
    """Back to 2026.1 alone as current; the seeded versions go unless assessments use them."""
    ChecklistVersion = apps.get_model("risk", "ChecklistVersion")
    Assessment = apps.get_model("risk", "Assessment")
    seeded = ChecklistVersion.objects.filter(version__in=SEEDED)
    if Assessment.objects.filter(version__in=SEEDED).exists():
        raise RuntimeError("assessments were answered against 2026.2 or YP-2026.1: they cannot be unseeded")
    if seeded.filter(is_current=True).exists():
        seeded.update(is_current=False)
        ChecklistVersion.objects.filter(version="2026.1").update(is_current=True)
    seeded.delete()


class Migration(migrations.Migration):
    dependencies = [("risk", "0013_incident_reported_to_police")]
    operations = [migrations.RunPython(seed, unseed)]
