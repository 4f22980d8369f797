from django.db import migrations


def seed(apps, schema_editor):
    from chat.defaults import seed_defaults

    seed_defaults(apps)


class Migration(migrations.Migration):
    dependencies = [("chat", "0005_triage_directory_hours")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
