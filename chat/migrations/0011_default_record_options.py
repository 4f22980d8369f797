from django.db import migrations

# The shipped choices of the end-of-chat record; staff change them in the admin.
SERVICES = [
    ("emotional_support", "Emotional support"),
    ("information", "Information about abuse and options"),
    ("safety_planning", "Safety planning"),
    ("legal_information", "Legal information"),
    ("psychological_support", "Psychological support"),
    ("housing_information", "Housing information"),
    ("children_safety", "Children's safety"),
    ("behaviour_change", "Support to change behaviour"),
]
DESTINATIONS = [
    ("police", "Police"),
    ("social_services", "Social services"),
    ("refuge", "Refuge or shelter"),
    ("crisis_centre", "Crisis centre"),
    ("idva_outreach", "IDVA or outreach service"),
    ("legal_advice", "Legal advice"),
    ("health", "Health services"),
    ("addiction", "Addiction services"),
    ("housing", "Housing team"),
    ("perpetrator_programme", "Perpetrator programme"),
    ("other_helpline", "Another helpline"),
]


def seed(apps, schema_editor):
    for model, rows in (("ServiceGiven", SERVICES), ("ReferralDestination", DESTINATIONS)):
        Model = apps.get_model("chat", model)
        for position, (slug, label) in enumerate(rows):
            Model.objects.get_or_create(slug=slug, defaults={"label": label, "position": position})


class Migration(migrations.Migration):
    dependencies = [("chat", "0010_record_options")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
