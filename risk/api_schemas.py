"""The JSON bodies the risk API takes (the checklist beside a chat in the console), as schemas.

Unknown fields and wrong types are refused, nothing is coerced (no "true" for true, no "5" for 5)
and no text is cut short: a body that does not fit is answered 400 with the field named. What
needs the records (which items a checklist version has) the services check.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from risk.checklist import KEY_PATTERN

ItemKey = Annotated[str, Field(min_length=1, max_length=20, pattern=KEY_PATTERN.pattern)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CaseOpen(Body):
    """Open a case for the conversation, or attach it to the case whose reference a returning
    visitor gave (empty: open a new one)."""

    reference: str = Field("", max_length=40)


class Answer(Body):
    """One checklist item's answer; no value and no comment clears it."""

    value: Literal["yes", "no", "dont_know"] | None = None
    source: str = Field("", max_length=200)
    comment: str = Field("", max_length=2000)


class AssessmentPatch(Body):
    """What the advisor changed, saved as they go. `answers` is a patch: each item key maps to
    its answer, or to null to clear it; fields left out are kept."""

    answers: Annotated[dict[ItemKey, Answer | None], Field(max_length=100)] | None = None
    before_you_ask: Annotated[dict[ItemKey, bool], Field(max_length=40)] | None = None
    has_children: bool | None = None
    honour_flag: bool | None = None
    judgement_high: bool | None = None
    judgement_reason: str | None = Field(None, max_length=4000)


class ReferralStart(Body):
    """Start a MARAC referral from the case, with this assessment (else the case's latest)."""

    assessment_id: int | None = Field(None, ge=1, le=2**31 - 1)
