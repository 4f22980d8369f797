"""risk: case records opened on a chat, the way an advisor opens one, and assessments answered
through the services with every kind of answer the checklist takes."""

from datetime import date
from typing import Any

from django.utils import timezone

from chat.setup_models import Region
from risk import services as risk
from risk.models import Agency, Assessment, CaseRecord, MaracArea
from tests.factories.chat import chat_with

# Twelve yes answers (the medium band, below high), with details ticked on two items: the
# threats-to-kill and stalking prompts are met. The children's answers say they were hurt.
FULL_ANSWERS: dict[str, Any] = {
    **{f"c{n:02d}": {"value": "yes"} for n in range(1, 11)},
    "c14": {"value": "yes", "ticks": ["victim", "children"], "source": "sister", "comment": "believed it"},
    "c23": {"value": "yes", "ticks": ["bail", "dapn_dapo"]},
    "c15": {"value": "no"},
    "c24": {"value": "dont_know"},
    "k1": {"value": "yes"},
    "k2": {"value": "yes"},
    "k3": {"value": "dont_know"},
}
FULL_PROFESSIONAL: dict[str, Any] = {
    "other_factors": ["disability", "rural_isolation"],
    "weapons_access": "dont_know",
    "safety_priorities": "Keep the children at their school; fears he will take them",
    "children_risk": "yes",
    "children_referral_made": "yes",
    "children_referral_on": "2026-11-30",
}


def case_with_chat(user: Any, **fields: Any) -> CaseRecord:
    """A case the user opened on a chat they hold (`chat_with`)."""
    return risk.case_open(user=user, conversation_id=chat_with(user).pk, **fields)


def assessment_answered(
    user: Any,
    case: CaseRecord,
    *,
    version: str | None = None,
    answers: dict[str, Any] | None = None,
    professional: dict[str, Any] | None = None,
) -> Assessment:
    """An assessment of `case` against `version` (the current adult one by default), answered
    with `answers` and the professional's section (FULL_ANSWERS and FULL_PROFESSIONAL unless given)."""
    assessment = risk.assessment_start(user=user, case_id=case.pk, **({"version": version} if version else {}))
    assessment, _ = risk.assessment_answer(
        user=user,
        assessment_id=assessment.pk,
        answers=FULL_ANSWERS if answers is None else answers,
        professional=FULL_PROFESSIONAL if professional is None else professional,
    )
    return assessment


def safeguarding_decided(
    user: Any,
    assessment: Assessment,
    *,
    needed: bool = True,
    reason: str = "The children were hurt",
    on: date | None = None,
) -> None:
    risk.safeguarding_decision_record(
        user=user,
        case_id=assessment.case_id,
        assessment_id=assessment.pk,
        needed=needed,
        decided_on=on or timezone.localdate(),
        reason=reason,
    )


def directory(area: str = "Cardiff", regions: tuple[str, ...] = ("south-wales",)) -> dict[str, Agency]:
    """A MARAC area serving `regions`, with one agency of each kind (addresses on example.org)."""
    marac_area = MaracArea.objects.create(name=area)
    for slug in regions:
        region, _ = Region.objects.get_or_create(slug=slug, defaults={"name": slug.replace("-", " ").title()})
        marac_area.regions.add(region)
    return {
        kind: Agency.objects.create(
            area=marac_area, kind=kind, name=f"{area} {label}", email=f"{kind}@{area.lower()}.example.org"
        )
        for kind, label in Agency.Kind.choices
    }
