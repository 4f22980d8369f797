from django.db import migrations


def from_free_text(apps, schema_editor):
    """Incidents recorded before the field existed said whom they were reported to in words:
    those that name the police were reported to the police."""
    Incident = apps.get_model("risk", "Incident")
    Incident.objects.filter(reported_to__icontains="police").update(reported_to_police=True)


class Migration(migrations.Migration):
    dependencies = [("risk", "0012_checklist_audiences_professional_safeguarding")]
    operations = [migrations.RunPython(from_free_text, migrations.RunPython.noop)]
