"""`perpetrator_keys_rebuild`: make every referral's perpetrator keys again from its form, after
RISK_PERPETRATOR_KEY (or DJANGO_SECRET_KEY, when that key is derived from it) changed."""

from typing import Any

from django.core.management.base import BaseCommand

from risk.perpetrators import perpetrator_keys_rebuild


class Command(BaseCommand):
    help = "Rebuild the keyed hashes that match perpetrators across cases (after the key changed)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{perpetrator_keys_rebuild()} perpetrator keys")
