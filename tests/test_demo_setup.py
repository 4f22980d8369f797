from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from agents.models import CannedResponse, StaffProfile
from chat.models import Queue


@pytest.mark.django_db
def test_demo_setup_is_repeatable_and_demo_codes_sign_in(settings) -> None:
    for _ in range(2):
        call_command("demo_setup", "--staff", stdout=StringIO())
    assert Queue.objects.count() == 3
    assert set(StaffProfile.objects.values_list("role", flat=True)) == {"advisor", "supervisor"}
    assert StaffProfile.objects.count() == 3
    assert CannedResponse.objects.filter(owner=None).count() >= 3
    out = StringIO()
    call_command("demo_code", "advisor1", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    assert TOTPDevice.objects.get(user__username="advisor1").verify_token(code)

    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("demo_code", "advisor1", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("demo_setup", "--staff", stdout=StringIO())
