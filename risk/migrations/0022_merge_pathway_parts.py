from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('risk', '0018_referral_form_versions'),
        ('risk', '0019_referral_delivery'),
        ('risk', '0020_marac_outcomes_and_links'),
        ('risk', '0021_return_phrases'),
    ]

    operations = [
    ]
