"""An assessment as people read it outside the console's panel: the case page, the JSON and PDF
exports and the referral form all show the same thing, built here from the assessment, the
version it was answered against and its evaluation today.

Reads only. Labels come from the version the assessment was answered against (an old version
keeps its own wording), with the version's defaults filled in, so an assessment from a version
without ticks, a professional's section or bands of its own (2026.1) reads exactly as before.
"""

from typing import Any

from django.db.models import QuerySet

from risk.checklist import BLOCK_TITLES, definition
from risk.filters import CRITERION_LABELS
from risk.models import Assessment, CaseRecord, Incident, SafeguardingDecision
from risk.scoring import Evaluation, band_label

ANSWER_LABELS = {"yes": "Yes", "no": "No", "dont_know": "Don't know"}
NOT_ASKED = "Not asked"
# The blocks beside the core, shown when anything in them was answered.
FOLLOW_UP_BLOCKS = ("children", "stalking", "honour")


def _labels(options: list[dict[str, str]] | None) -> dict[str, str]:
    return {option["key"]: option["label"] for option in options or []}


def _choice_text(value: Any) -> str:
    return ANSWER_LABELS.get(value, str(value))


def professional_text(field: dict[str, Any], value: Any) -> str:
    """A professional field's value as text: ticked options by label, a choice as Yes / No /
    Don't know, a date or a text as given."""
    if field.get("kind") == "ticks":
        labels = _labels(field.get("options"))
        return ", ".join(labels.get(key, key) for key in value or [])
    if field.get("kind") == "choice":
        return _choice_text(value)
    return str(value)


def _item(item: dict[str, Any], answer: Any) -> dict[str, Any]:
    answer = answer if isinstance(answer, dict) else {}
    value = answer.get("value")
    tick_labels = _labels(item.get("ticks"))
    ticks = [{"key": key, "label": tick_labels.get(key, key)} for key in answer.get("ticks") or []]
    return {
        "key": item["key"],
        "label": item["label"],
        "question": item["question"],
        "answer": value,
        "answer_label": ANSWER_LABELS.get(value, NOT_ASKED),
        "ticks": ticks,
        "source": answer.get("source", ""),
        "comment": answer.get("comment", ""),
    }


def _blocks(spec: dict[str, Any], assessment: Assessment) -> list[dict[str, Any]]:
    answers = assessment.answers
    blocks = []
    for name in ("core", *FOLLOW_UP_BLOCKS):
        items = [_item(item, answers.get(item["key"])) for item in spec.get(name, [])]
        if name == "core" or any(i["answer"] or i["comment"] for i in items):
            blocks.append({"key": name, "title": BLOCK_TITLES[name], "items": items})
    return blocks


def _professional(spec: dict[str, Any], assessment: Assessment) -> list[dict[str, Any]]:
    """The fields of the professional's section that were filled in, in the version's order."""
    given = assessment.professional or {}
    return [
        {
            "key": field["key"],
            "label": field["label"],
            "kind": field["kind"],
            "value": given[field["key"]],
            "text": professional_text(field, given[field["key"]]),
        }
        for field in spec.get("professional", [])
        if given.get(field["key"]) not in (None, "", [])
    ]


def assessment_detail(assessment: Assessment, evaluated: Evaluation) -> dict[str, Any]:
    """Everything shown of one assessment, as plain data (the JSON export is this, as it is);
    `evaluated` is its evaluation today (risk.selectors.evaluation)."""
    checklist = definition(assessment.version)
    spec = checklist.as_dict()
    result = evaluated.as_dict()
    confirmed = assessment.before_you_ask or {}
    return {
        "id": assessment.pk,
        "version": assessment.version,
        "audience": spec["audience"],
        "started_at": assessment.created_at.isoformat(),
        "updated_at": assessment.updated_at.isoformat(),
        "conversation": str(assessment.conversation_id) if assessment.conversation_id else None,
        "score": result["score"],
        "band": result["band"],
        "band_label": result["band_label"],
        "level": result["level"],
        "level_label": band_label(result["level"], checklist.bands_in_use()),
        "criteria": [
            {"key": c["key"], "label": CRITERION_LABELS.get(c["key"], c["key"]), "detail": c.get("detail", "")}
            for c in result["criteria"]
        ],
        "prompts": result["prompts"],
        "marac_applies": result["marac_applies"],
        "children_at_risk": result["children_at_risk"],
        "judgement": {"high": assessment.judgement_high, "reason": assessment.judgement_reason},
        "before_you_ask": [
            {"key": item["key"], "label": item["label"], "confirmed": bool(confirmed.get(item["key"]))}
            for item in spec.get("before_you_ask", [])
        ],
        "has_children": assessment.has_children,
        "honour_flag": assessment.honour_flag,
        "blocks": _blocks(spec, assessment),
        "unanswered": len(result["unanswered"]),
        "professional": _professional(spec, assessment),
    }


def ticked_details(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The items answered yes with details ticked: "Threats to kill: The victim, The children"."""
    return [
        {"key": item["key"], "label": item["label"], "ticks": [tick["label"] for tick in item["ticks"]]}
        for block in detail["blocks"]
        for item in block["items"]
        if item["answer"] == "yes" and item["ticks"]
    ]


def safeguarding_decisions(case: CaseRecord) -> QuerySet[SafeguardingDecision]:
    """The case's safeguarding decisions for the children, oldest first (a later one stands)."""
    return (
        SafeguardingDecision.objects.filter(case=case)
        .select_related("recorded_by__staff")
        .order_by("recorded_at", "pk")
    )


def safeguarding_rows(case: CaseRecord) -> list[dict[str, Any]]:
    return [
        {
            "needed": d.needed,
            "decided_on": d.decided_on.isoformat(),
            "reason": d.reason,
            "assessment": d.assessment_id,
            "recorded_by": _staff_name(d.recorded_by),
            "recorded_at": d.recorded_at.isoformat(),
        }
        for d in safeguarding_decisions(case)
    ]


def incident_rows(case: CaseRecord) -> list[dict[str, Any]]:
    return [
        {
            "occurred_on": i.occurred_on.isoformat(),
            "reported_to": i.reported_to,
            "reported_to_police": i.reported_to_police,
            "note": i.note,
        }
        for i in Incident.objects.filter(case=case).order_by("occurred_on", "pk")
    ]


def _staff_name(user: Any) -> str:
    staff = getattr(user, "staff", None)
    return staff.display_name if staff is not None else user.get_username()
