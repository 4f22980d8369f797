"""The MARAC referral form as the referral page lays it out and reads it back: its sections and
labels, the people sections with a fixed number of entries, and the posted fields turned into
the patch `risk.referrals.referral_update` takes (which checks every section and field).
"""

from typing import Any

from django.http import QueryDict

from risk import referrals, services
from risk.models import Referral

FORM_SECTIONS = [
    ("referrer", "Referrer"),
    ("victim", "Victim"),
    ("children", "Children: risks and safeguarding"),
    ("risk_summary", "Risk summary"),
    ("safety", "Safety"),
    ("consent", "Consent and information sharing"),
]
# The people sections: how many entries the form offers for each.
PEOPLE_SECTIONS = [("perpetrators", "Perpetrator", 2), ("household", "Child or other person in the household", 4)]
YES_NO = {
    "discussed_with_manager",
    "safe_to_call",
    "safe_to_leave_message",
    "interpreter",
    "victim_aware",
    "consent_given",
    "children_in_household",
    "children_hurt",
    "children_threatened",
    "children_at_risk",
    "safeguarding_referral_made",
    "safeguarding_needed",
}
LABELS = {
    "secure_email": "Secure email",
    "discussed_with_manager": "Discussed with a manager",
    "date_of_birth": "Date of birth",
    "safe_to_call": "Safe to call",
    "safe_to_leave_message": "Safe to leave a message",
    "safe_times": "Safe times to call",
    "interpreter": "Needs an interpreter",
    "immigration_status": "Immigration status",
    "background": "Background and risk issues",
    "why_multi_agency": "Why a multi-agency response is needed",
    "crime_reference": "Crime or incident reference",
    "fears": "Who the victim fears",
    "safe_to_talk_to": "Who is safe to talk to",
    "not_safe_to_talk_to": "Who is not safe to talk to",
    "earlier_maracs": "Earlier MARACs",
    "victim_aware": "The victim knows about this referral",
    "why_not_aware": "If not, why not",
    "consent_given": "Consent given",
    "basis_without_consent": "Without consent: the basis for sharing (safeguarding, necessity, proportionality)",
    "sharing_protocol_reference": "Local information-sharing protocol reference",
    "relationship": "Relationship to the victim",
    "relationship_to_victim": "Relationship to the victim",
    "relationship_to_perpetrator": "Relationship to the perpetrator",
    "safety_priorities": "What the victim wants and fears most, in their words",
    "children_in_household": "Children or dependants in the household",
    "children_hurt": "The abuser has hurt the children or dependants",
    "children_threatened": "The abuser has threatened to hurt or kill them",
    "children_at_risk": "Risks to the children (the professional's view)",
    "safeguarding_referral_made": "Referral made to safeguard the children",
    "safeguarding_referral_on": "Date of that referral",
    "safeguarding_needed": "Safeguarding referral needed (latest decision)",
    "safeguarding_decided_on": "Date of the decision",
    "safeguarding_reason": "Reason for the decision",
}


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " ").capitalize())


def _field(section: str, key: str, value: Any) -> dict[str, Any]:
    return {"name": f"{section}.{key}", "label": _label(key), "value": value, "yes_no": key in YES_NO}


def _is_text(value: Any) -> bool:
    """The fields the form shows as inputs (lists, objects and flags are filled in elsewhere)."""
    return not isinstance(value, (list, dict, bool))


def layout(referral: Referral) -> dict[str, Any]:
    """The referral page's view of the form: sections of fields, the people entries (blank ones
    up to each section's number), the criteria, what the checklist gave the risk summary and the
    chosen excerpts. A section the form was drafted without (an older referral) is left out."""
    sections = [
        (name, title, [_field(name, k, v) for k, v in referral.form[name].items() if _is_text(v)])
        for name, title in FORM_SECTIONS
        if name in referral.form
    ]
    people = []
    for section, title, slots in PEOPLE_SECTIONS:
        entries = list(referral.form.get(section, []))[:slots]
        entries += [{}] * (slots - len(entries))
        people.append(
            (
                section,
                [
                    (
                        f"{title} {index + 1}",
                        [_field(f"{section}.{index}", k, entry.get(k)) for k in referrals.PERSON_FIELDS[section]],
                    )
                    for index, entry in enumerate(entries)
                ],
            )
        )
    summary = referral.form.get("risk_summary", {})
    excerpts = summary.get("excerpts", [])
    return {
        "sections": sections,
        "people": people,
        "criteria": referral.form.get("criteria", {}),
        "checklist_details": summary.get("checklist_details", []),
        "professional": summary.get("professional", []),
        "excerpts": excerpts,
        "chosen": {e.get("id") for e in excerpts},
    }


def _people(data: QueryDict, section: str, slots: int) -> list[dict[str, Any]]:
    people = []
    for index in range(slots):
        entry = {key: data.get(f"{section}.{index}.{key}", "").strip() for key in referrals.PERSON_FIELDS[section]}
        if any(entry.values()):
            people.append({key: value or None for key, value in entry.items()})
    return people


def form_patch(data: QueryDict, referral: Referral) -> dict[str, Any]:
    """The sections and fields posted, as a patch of the stored form; an emptied field is None
    ("not known")."""
    form: dict[str, Any] = {}
    for section, _ in FORM_SECTIONS:
        if section not in referral.form:
            continue
        values = referral.form[section]
        form[section] = {
            key: (data.get(f"{section}.{key}") or None)
            for key, value in values.items()
            if _is_text(value) and f"{section}.{key}" in data
        }
    for section, _, slots in PEOPLE_SECTIONS:
        if f"{section}.0.name" in data:
            form[section] = _people(data, section, slots)
    return form


def excerpt_ids(data: QueryDict) -> list[int] | None:
    """The chat lines ticked as excerpts; None when the form did not offer them."""
    if "excerpts_shown" not in data:
        return None
    values = data.getlist("excerpt")
    if not all(value.isdigit() for value in values):
        raise services.RiskError("invalid", "An excerpt must be a message of one of this case's chats.")
    return [int(value) for value in values]
