"""Which area hears a case and which agency receives each kind of referral from it.

The case's area, when an advisor has set it, names a MARAC area; otherwise the region the
visitor chose in the widget decides, through the regions each area serves."""

from risk.agency_models import Agency, MaracArea
from risk.models import CaseRecord


def area_for_case(case: CaseRecord) -> MaracArea | None:
    """The case's MARAC area: the one its `area` names (case-insensitively), else the one serving
    the region of its most recent linked chat; None when neither is known."""
    if case.area.strip():
        named = MaracArea.objects.filter(name__iexact=case.area.strip()).first()
        if named is not None:
            return named
    regions = [
        slug
        for slug in case.conversation_links.order_by("-linked_at").values_list("conversation__region", flat=True)
        if slug
    ]
    for slug in regions:
        area = MaracArea.objects.filter(regions__slug=slug).order_by("name").first()
        if area is not None:
            return area
    return None


def destination(case: CaseRecord, kind: str) -> Agency | None:
    """The active agency of the case's area that receives referrals of `kind`, if there is one."""
    area = area_for_case(case)
    if area is None:
        return None
    return Agency.objects.filter(area=area, kind=kind, active=True).first()
