"""The directory of services a visitor is shown by region, plus the national lines.

A refuge's address is never given out: the model refuses one, and this reader never includes an
address or a map link for a refuge even if one were somehow stored."""

from typing import Any
from urllib.parse import quote_plus

from django.utils import translation

from chat.errors import ProtocolError
from chat.setup_models import DirectoryEntry, Region
from chat.triage import localized

MAP_SEARCH = "https://www.openstreetmap.org/search?query="


def _entry(entry: DirectoryEntry) -> dict[str, Any]:
    refuge = entry.kind == DirectoryEntry.Kind.REFUGE
    address = "" if refuge else entry.address
    return {
        "name": entry.name,
        "kind": entry.kind,
        "kind_label": str(entry.get_kind_display()),
        "description": entry.description,
        "phone": entry.phone,
        "hours": entry.hours,
        "open_24h": entry.open_24h,
        "website": entry.website,
        "address": address,
        "map_url": MAP_SEARCH + quote_plus(address) if address else "",
        "contact_route": entry.contact_route,
    }


def directory_lookup(*, region: str | None, language: str) -> dict[str, Any]:
    """The regions to choose from, the national services, and those of `region` if given."""
    with translation.override(language):
        regions = list(Region.objects.all())
        chosen = next((r for r in regions if r.slug == region), None) if region else None
        if region and chosen is None:
            raise ProtocolError("unknown_region")
        active = DirectoryEntry.objects.filter(active=True)
        return {
            "regions": [{"slug": r.slug, "name": localized(r.name, r.translations.get(language))} for r in regions],
            "region": {"slug": chosen.slug, "name": localized(chosen.name, chosen.translations.get(language))}
            if chosen
            else None,
            "national": [_entry(e) for e in active.filter(region__isnull=True)],
            "local": [_entry(e) for e in active.filter(region=chosen)] if chosen else [],
        }
