"""The referral queue's filters, read from a query string: each known value or a clear error."""

from typing import Any

from django.http import QueryDict

from risk.models import Referral

CRITERION_LABELS = {
    "visible_high_risk": "Visible high risk",
    "professional_judgement": "Professional judgement",
    "potential_escalation": "Potential escalation",
    "repeat": "Repeat",
}
YES_NO = {"": None, "yes": True, "no": False}
AREA_MAX = 100


def referral_filters(query: QueryDict) -> tuple[dict[str, Any], list[str]]:
    """(filters for `referrals.referral_queue`, errors); any error means the filters are not used."""
    errors: list[str] = []
    states = {value for value, _label in Referral.State.choices if value != Referral.State.DRAFT}
    state = query.get("state", "")
    if state and state not in states:
        errors.append(f"Unknown state; choose one of {', '.join(sorted(states))}.")
    kind = query.get("kind", "")
    if kind and kind not in Referral.Kind.values:
        errors.append(f"Unknown kind; choose one of {', '.join(Referral.Kind.values)}.")
    criterion = query.get("criterion", "")
    if criterion and criterion not in CRITERION_LABELS:
        errors.append(f"Unknown criterion; choose one of {', '.join(CRITERION_LABELS)}.")
    for name in ("repeat", "urgent"):
        if query.get(name, "") not in YES_NO:
            errors.append(f"{name.title()} is yes, no or empty.")
    area = query.get("area", "").strip()
    if len(area) > AREA_MAX or any(ord(ch) < 32 for ch in area):
        errors.append(f"The area is a name of at most {AREA_MAX} printable characters.")
    filters = {
        "state": state or None,
        "kind": kind or None,
        "criterion": criterion or None,
        "repeat": YES_NO.get(query.get("repeat", "")),
        "urgent": YES_NO.get(query.get("urgent", "")),
        "area": area or None,
    }
    return filters, errors
