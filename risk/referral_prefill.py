"""What a new referral form takes from the case and its assessment: the escalation count (the
incidents reported to the police in the escalation window), the risk summary's details (the
ticked details of the checklist and the professional's section) and the children section (the
children's answers, the professional's answers about them and the latest safeguarding decision).

Only what was recorded is filled in; anything else stays None ("not known"). A "don't know" is
not known too: the form asks yes or no.
"""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from risk import scoring
from risk.assessment_detail import safeguarding_decisions, ticked_details
from risk.models import CaseRecord

# The children's block items, by what the form calls them.
CHILDREN_ITEMS = {"k1": "children_in_household", "k2": "children_hurt", "k3": "children_threatened"}
# The professional's answers about the children, by what the form calls them.
CHILDREN_PROFESSIONAL = {
    "children_risk": "children_at_risk",
    "children_referral_made": "safeguarding_referral_made",
    "children_referral_on": "safeguarding_referral_on",
}
# The professional's field given its own place in the form, in the victim's words.
SAFETY_PRIORITIES = "safety_priorities"
CHILDREN_FIELDS = (
    *CHILDREN_ITEMS.values(),
    *CHILDREN_PROFESSIONAL.values(),
    "safeguarding_needed",
    "safeguarding_decided_on",
    "safeguarding_reason",
)


def _yes_no(value: Any) -> str | None:
    return value if value in ("yes", "no") else None


def escalation_incidents(case: CaseRecord) -> int:
    """The incidents reported to the police within the escalation window, up to today: what the
    potential-escalation criterion counts."""
    today = timezone.localdate()
    window = timedelta(days=scoring.thresholds()["escalation_window_days"])
    return case.incidents.filter(
        reported_to_police=True, occurred_on__gt=today - window, occurred_on__lte=today
    ).count()


def risk_summary_details(detail: dict[str, Any] | None) -> dict[str, Any]:
    """The risk summary's part from the checklist: the ticked details, the professional's section
    (but for the children's fields, which go to the children section) and the victim's safety
    priorities in their own words."""
    if detail is None:
        return {"checklist_details": [], "professional": [], SAFETY_PRIORITIES: None}
    professional = {field["key"]: field for field in detail["professional"]}
    priorities = professional.get(SAFETY_PRIORITIES)
    return {
        "checklist_details": ticked_details(detail),
        "professional": [
            {"key": key, "label": field["label"], "text": field["text"]}
            for key, field in professional.items()
            if key not in CHILDREN_PROFESSIONAL and key != SAFETY_PRIORITIES
        ],
        SAFETY_PRIORITIES: priorities["text"] if priorities else None,
    }


def children_section(*, case: CaseRecord, detail: dict[str, Any] | None) -> dict[str, Any]:
    section: dict[str, Any] = dict.fromkeys(CHILDREN_FIELDS)
    if detail is not None:
        answers = {item["key"]: item["answer"] for block in detail["blocks"] for item in block["items"]}
        for key, name in CHILDREN_ITEMS.items():
            section[name] = _yes_no(answers.get(key))
        given = {field["key"]: field["value"] for field in detail["professional"]}
        for key, name in CHILDREN_PROFESSIONAL.items():
            value = given.get(key)
            section[name] = _yes_no(value) if key != "children_referral_on" else value
    latest = safeguarding_decisions(case).last()
    if latest is not None:
        section["safeguarding_needed"] = "yes" if latest.needed else "no"
        section["safeguarding_decided_on"] = latest.decided_on.isoformat()
        section["safeguarding_reason"] = latest.reason or None
    return section
