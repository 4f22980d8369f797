"""Queues and demo staff so a person can try the product at once (embedded profile only)."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from agents.models import CannedResponse, StaffProfile
from chat.defaults import seed_defaults
from chat.figures_demo import HistoryExists, history_fill
from chat.models import Queue
from chat.setup_models import DirectoryEntry, Region

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


# A directory to try the widget with. The national lines are real; the local services are made
# up, with numbers from the ranges set aside for drama, so nobody is called by mistake.
DEMO_REGIONS = [("wales", "Wales"), ("north-west", "North West England"), ("london", "London")]
DEMO_DIRECTORY: list[dict[str, Any]] = [
    {
        "name": "National Domestic Abuse Helpline",
        "kind": "helpline",
        "phone": "0808 2000 247",
        "open_24h": True,
        "hours": "24 hours, every day",
        "description": "Free and confidential support and information.",
    },
    {
        "name": "Live Fear Free (Wales)",
        "kind": "helpline",
        "phone": "0808 80 10 800",
        "open_24h": True,
        "hours": "24 hours, every day",
        "description": "Help and advice in Welsh and English.",
    },
    {
        "name": "Respect Phoneline",
        "kind": "perpetrator",
        "phone": "0808 802 4040",
        "hours": "Mon-Fri 9:00-17:00",
        "description": "For people worried about their own behaviour.",
    },
    {
        "name": "Riverside Advice Centre",
        "region": "wales",
        "kind": "advice",
        "phone": "029 2018 0999",
        "hours": "Mon-Fri 9:30-16:30",
        "address": "12 Example Street, Cardiff CF10 1AA",
        "description": "Drop-in advice on housing, money and safety planning.",
    },
    {
        "name": "Harbour House",
        "region": "wales",
        "kind": "refuge",
        "contact_route": "Through the National Domestic Abuse Helpline, 0808 2000 247, any time.",
        "description": "Refuge for women and children.",
    },
    {
        "name": "Northgate Family Law Clinic",
        "region": "north-west",
        "kind": "legal",
        "phone": "0161 496 0999",
        "hours": "Tue and Thu 10:00-15:00",
        "address": "3 Sample Road, Manchester M1 1AA",
        "description": "Free first appointment on protective orders.",
    },
    {
        "name": "Haven Court",
        "region": "north-west",
        "kind": "refuge",
        "contact_route": "Through your local council's housing team or the national helpline.",
    },
    {
        "name": "Thames Outreach Service",
        "region": "london",
        "kind": "advice",
        "phone": "020 7946 0999",
        "hours": "Mon-Sat 9:00-19:00",
        "address": "Unit 4, 20 Placeholder Lane, London E1 6AN",
        "description": "Outreach workers, safety planning and court support.",
    },
]


class Command(BaseCommand):
    help = "Create the standard queues and, with --staff, demo staff accounts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--staff", action="store_true", help="Also create demo staff accounts.")
        parser.add_argument(
            "--history",
            nargs="?",
            const=1,
            type=int,
            metavar="YEARS",
            help="Also fill a year (or YEARS) of made-up anonymous statistics, so the reports show something.",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        seed_defaults()
        for slug, name, about, is_default in QUEUES:
            Queue.objects.update_or_create(slug=slug, defaults={"name": name, "about": about, "is_default": is_default})
        self.stdout.write(f"Queues: {', '.join(q[0] for q in QUEUES)}")
        for shortcut, title, text in TEAM_CANNED:
            CannedResponse.objects.get_or_create(owner=None, shortcut=shortcut, defaults={"title": title, "text": text})
        if options["history"] is not None:
            self._history(int(options["history"]))
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
        for order, (slug, name) in enumerate(DEMO_REGIONS):
            Region.objects.update_or_create(slug=slug, defaults={"name": name, "order": order})
        for order, spec in enumerate(DEMO_DIRECTORY):
            fields = {k: v for k, v in spec.items() if k not in ("name", "region")}
            region = Region.objects.get(slug=spec["region"]) if "region" in spec else None
            DirectoryEntry.objects.update_or_create(
                name=spec["name"], defaults={**fields, "region": region, "order": order}
            )
        self.stdout.write(f"Demo directory: {len(DEMO_REGIONS)} regions, {len(DEMO_DIRECTORY)} services")
        self.stdout.write("Two-factor code for a demo account: .venv/bin/python manage.py demo_code advisor1")

    def _history(self, years: int) -> None:
        if settings.PRODUCTION:
            raise CommandError("Made-up statistics are never added in production.")
        if not 1 <= years <= 5:
            raise CommandError("--history takes 1 to 5 years.")
        try:
            added = history_fill(today=timezone.localdate(), years=years)
        except HistoryExists as exists:
            self.stdout.write(str(exists))
            return
        self.stdout.write(
            f"Demo history: {added} anonymous contacts over {years} year(s); see Reports > Published figures"
        )
