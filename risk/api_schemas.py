"""The JSON bodies the risk API takes (the checklist beside a chat in the console), as schemas.

Unknown fields and wrong types are refused, nothing is coerced (no "true" for true, no "5" for 5)
and no text is cut short: a body that does not fit is answered 400 with the field named. What
needs the records (which items a checklist version has) the services check.
"""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from risk.checklist_rules import (
    KEY_PATTERN,
    OPTIONS_MAX,
    TEXT_ANSWER_MAX,
    TICK_KEY_PATTERN,
    TICKS_MAX,
    VERSION_PATTERN,
)

ItemKey = Annotated[str, Field(min_length=1, max_length=20, pattern=KEY_PATTERN.pattern)]
# A detail ticked on an answer, a professional's field or one of its options.
TickKey = Annotated[str, Field(min_length=1, max_length=30, pattern=TICK_KEY_PATTERN.pattern)]
VersionLabel = Annotated[str, Field(min_length=1, max_length=20, pattern=VERSION_PATTERN.pattern)]


def _professional_value(value: Any) -> list[str] | str:
    """Text (at most 2000 characters) or a list of at most 30 option keys; no other type."""
    if isinstance(value, str):
        if len(value) > TEXT_ANSWER_MAX:
            raise ValueError(f"should have at most {TEXT_ANSWER_MAX} characters")
        return value
    if isinstance(value, list) and all(isinstance(key, str) for key in value):
        if len(value) > OPTIONS_MAX:
            raise ValueError(f"should have at most {OPTIONS_MAX} options")
        if not all(TICK_KEY_PATTERN.match(key) for key in value):
            raise ValueError("option keys are 1 to 30 lower-case letters, digits or _")
        return list(value)
    raise ValueError("should be text, or a list of option keys")


# A professional's field by its kind: option keys (ticks); yes, no or dont_know (choice); text; a
# date as YYYY-MM-DD. Which kind a field is, the version says: the services check it.
ProfessionalValue = Annotated[Any, PlainValidator(_professional_value)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CaseOpen(Body):
    """Open a case for the conversation, or attach it to the case whose reference a returning
    visitor gave (empty: open a new one)."""

    reference: str = Field("", max_length=40)
    version: VersionLabel | None = None


class Answer(Body):
    """One checklist item's answer; no value and no comment clears it."""

    value: Literal["yes", "no", "dont_know"] | None = None
    ticks: Annotated[list[TickKey], Field(max_length=TICKS_MAX)] = []
    source: str = Field("", max_length=200)
    comment: str = Field("", max_length=2000)


class AssessmentPatch(Body):
    """What the advisor changed, saved as they go. `answers` and `professional` are patches: each
    key maps to its answer or value, or to null to clear it; fields left out are kept. `version`
    chooses another current version, only before the first answer."""

    answers: Annotated[dict[ItemKey, Answer | None], Field(max_length=100)] | None = None
    professional: Annotated[dict[TickKey, ProfessionalValue | None], Field(max_length=30)] | None = None
    version: VersionLabel | None = None
    before_you_ask: Annotated[dict[ItemKey, bool], Field(max_length=40)] | None = None
    has_children: bool | None = None
    honour_flag: bool | None = None
    judgement_high: bool | None = None
    judgement_reason: str | None = Field(None, max_length=4000)


class ReferralStart(Body):
    """Start a referral of this kind (MARAC unless said) from the case, with this assessment (else
    the case's latest)."""

    kind: Literal["marac", "idva", "mash", "police"] = "marac"
    assessment_id: int | None = Field(None, ge=1, le=2**31 - 1)


class SafeguardingDecisionBody(Body):
    """Whether a referral to safeguard the children is needed, decided on a date (YYYY-MM-DD), and
    why (required when it is); with the assessment it follows, if any."""

    needed: bool
    decided_on: date
    reason: str = Field("", max_length=2000)
    assessment_id: int | None = Field(None, ge=1, le=2**31 - 1)
