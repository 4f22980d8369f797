"""A directory of agencies to try referrals and their delivery with (embedded profile only): one
made-up MARAC area for each demo region, with its MARAC coordinator, IDVA service, children's
safeguarding hub and police force, all on example.org (so no real mailbox is ever written to)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from chat.setup_models import Region
from risk.agency_models import Agency, MaracArea

# area name, the region slug it serves, the domain its made-up agencies' addresses use
DEMO_AREAS = [
    ("Cardiff", "wales", "cardiff.example.org"),
    ("Manchester", "north-west", "manchester.example.org"),
    ("Camden", "london", "camden.example.org"),
]


class Command(BaseCommand):
    help = "Add a made-up directory of MARAC areas and agencies for the demo regions (never in production)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("The demo directory is never added in production.")
        added = 0
        with transaction.atomic():
            for name, slug, domain in DEMO_AREAS:
                area, _ = MaracArea.objects.get_or_create(name=name)
                region = Region.objects.filter(slug=slug).first()
                if region is not None:
                    area.regions.add(region)
                for kind, label in Agency.Kind.choices:
                    if not Agency.objects.filter(area=area, kind=kind, active=True).exists():
                        Agency.objects.create(area=area, kind=kind, name=f"{name} {label}", email=f"{kind}@{domain}")
                        added += 1
        self.stdout.write(f"Demo directory: {len(DEMO_AREAS)} areas, {added} agencies added.")
