"""Queues and demo staff so a person can try the product at once (embedded profile only)."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from agents.models import CannedResponse, StaffProfile
from chat.models import Queue

QUEUES = [
    ("general", "Survivors and people worried about someone", ["myself", "someone_i_know"], True),
    ("perpetrator", "Worried about own behaviour", ["own_behaviour"], False),
    ("professionals", "Professionals", ["professional"], False),
]

DEMO_STAFF = [
    # username, display name, role, languages, queues
    ("advisor1", "Sam", StaffProfile.Role.ADVISOR, ["en", "cy"], ["general", "professionals"]),
    ("advisor2", "Alex", StaffProfile.Role.ADVISOR, ["en", "pl"], ["general", "perpetrator"]),
    ("supervisor", "Jo", StaffProfile.Role.SUPERVISOR, ["en"], ["general", "perpetrator", "professionals"]),
]
TEAM_CANNED = [
    (
        "hello",
        "Greeting",
        "Hello, thank you for getting in touch. You're talking to an advisor. Is it safe for you to talk now?",
    ),
    ("safe", "Check safety", "Are you safe right now? If you are in danger, please call 999."),
    (
        "exit",
        "Quick exit reminder",
        "If you need to leave quickly, use the 'Leave this site' button or press Shift three times.",
    ),
    ("bye", "Closing", "Thank you for talking to us. You can come back to this chat whenever you need to."),
]
DEMO_PASSWORD = "demo-password-change-me"  # noqa: S105 - printed for the demo, refused in production


class Command(BaseCommand):
    help = "Create the standard queues and, with --staff, demo staff accounts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--staff", action="store_true", help="Also create demo staff accounts.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        for slug, name, about, is_default in QUEUES:
            Queue.objects.update_or_create(slug=slug, defaults={"name": name, "about": about, "is_default": is_default})
        self.stdout.write(f"Queues: {', '.join(q[0] for q in QUEUES)}")
        for shortcut, title, text in TEAM_CANNED:
            CannedResponse.objects.get_or_create(owner=None, shortcut=shortcut, defaults={"title": title, "text": text})
        if not options["staff"]:
            return
        if settings.PRODUCTION:
            raise CommandError("Demo staff are never created in production.")
        User = get_user_model()
        self.stdout.write("Demo staff (username / password):")
        for username, display, role, languages, queues in DEMO_STAFF:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role == StaffProfile.Role.SUPERVISOR
            user.is_superuser = role == StaffProfile.Role.SUPERVISOR
            user.save()
            profile, _ = StaffProfile.objects.update_or_create(
                user=user, defaults={"display_name": display, "role": role, "languages": languages}
            )
            profile.queues.set(Queue.objects.filter(slug__in=queues))
            # Enrolled already, so the demo needs no authenticator app: see `manage.py demo_code`.
            TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "Demo device"})
            self.stdout.write(f"  {username} / {DEMO_PASSWORD}  ({profile.get_role_display()}, {display})")
        self.stdout.write("Two-factor code for a demo account: .venv/bin/python manage.py demo_code advisor1")
