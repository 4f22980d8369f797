"""What a new referral form takes from the case and its assessment: the escalation count (the
incidents reported to the police in the escalation window), the risk summary's details (the
ticked details of the checklist and the professional's section) and the children section (the
children's answers, the professional's answers about them and the latest safeguarding decision).

Only what was recorded is filled in; anything else stays None ("not known"). A "don't know" is
not known too: the form asks yes or no.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from agents.models import StaffProfile
from risk import scoring
from risk.assessment_detail import assessment_detail, safeguarding_decisions, ticked_details
from risk.models import Assessment, CaseRecord

NOT_KNOWN = None

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


def referral_form_template(
    *, case: CaseRecord, user: Any, assessment: Assessment | None, result: scoring.Evaluation | None
) -> dict[str, Any]:
    profile = StaffProfile.objects.filter(user_id=user.pk).first()
    criteria = {c["key"]: c for c in (result.criteria if result else [])}
    detail = assessment_detail(assessment, result) if assessment and result else None
    return {
        "referrer": {
            "agency": settings.RISK.get("AGENCY", "Helpline"),
            "name": profile.display_name if profile else "",
            "role": profile.get_role_display() if profile else "",
            "phone": NOT_KNOWN,
            "secure_email": NOT_KNOWN,
            "date": timezone.localdate().isoformat(),
            "discussed_with_manager": NOT_KNOWN,
        },
        "victim": {
            k: NOT_KNOWN
            for k in (
                "surname",
                "forenames",
                "aliases",
                "date_of_birth",
                "address",
                "postcode",
                "phone",
                "safe_to_call",
                "safe_to_leave_message",
                "safe_times",
                "gender",
                "ethnicity",
                "disability",
                "sexuality",
                "language",
                "interpreter",
                "immigration_status",
            )
        },
        "perpetrators": [],
        "household": [],
        "children": children_section(case=case, detail=detail),
        "criteria": {
            "visible_high_risk": {"met": "visible_high_risk" in criteria, "score": result.score if result else None},
            "professional_judgement": {
                "met": "professional_judgement" in criteria,
                "reasons": assessment.judgement_reason if assessment else "",
            },
            "potential_escalation": {
                "met": "potential_escalation" in criteria,
                "incidents": escalation_incidents(case),
            },
            "repeat": {"met": "repeat" in criteria, "previous_reference": None},
        },
        "risk_summary": {
            "background": NOT_KNOWN,
            "why_multi_agency": NOT_KNOWN,
            "crime_reference": NOT_KNOWN,
            "checklist_attached": assessment is not None,
            **risk_summary_details(detail),
            "excerpts": [],
        },
        "safety": {
            "fears": NOT_KNOWN,
            "safe_to_talk_to": NOT_KNOWN,
            "not_safe_to_talk_to": NOT_KNOWN,
            "earlier_maracs": NOT_KNOWN,
        },
        "consent": {
            "victim_aware": NOT_KNOWN,
            "why_not_aware": NOT_KNOWN,
            "consent_given": NOT_KNOWN,
            "basis_without_consent": NOT_KNOWN,
            "sharing_protocol_reference": NOT_KNOWN,
        },
    }
