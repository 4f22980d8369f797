"""The advisor's end-of-chat record: the services given, the referrals and signposting made, and
what the visitor chose to say about themselves (gender, age band, whether they had contacted
before). Never asked of the visitor by the product, never required.

The record is written onto the chat's anonymous statistics row (counted at once if the chat was
not counted yet), so it outlives the chat's text with the rest of the figures and holds only
codes: no free text, nothing that leads back to the visitor. It can be corrected while the chat
itself is kept; once the retention purge has cut the row loose nobody can reach it any more.
"""

from typing import Annotated, Literal
from uuid import UUID

from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.models import ContactStatistic
from chat.errors import ProtocolError
from chat.models import Conversation
from chat.retention import statistic_count
from chat.services.kernel import conversation_for_staff, staff_actor
from chat.setup_models import ReferralDestination, ServiceGiven

GENDERS = [("woman", "Woman"), ("man", "Man"), ("non_binary", "Non-binary"), ("another", "Described another way")]
AGE_BANDS = [
    ("under_18", "Under 18"),
    ("18_24", "18 to 24"),
    ("25_34", "25 to 34"),
    ("35_44", "35 to 44"),
    ("45_54", "45 to 54"),
    ("55_64", "55 to 64"),
    ("65_plus", "65 or over"),
]
SAID_RETURNING = [("yes", "Yes, they had contacted before"), ("no", "No, a first contact")]

Slug = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[-a-zA-Z0-9_]+$")]
Gender = Literal["", "woman", "man", "non_binary", "another"]
AgeBand = Literal["", "under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus"]


class ContactRecordBody(BaseModel):
    """The JSON body of POST /console/api/conversations/<id>/record/. Empty strings mean "not
    said"; an empty list means none given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    services: Annotated[list[Slug], Field(max_length=40)] = []
    referrals: Annotated[list[Slug], Field(max_length=40)] = []
    gender: Gender = ""
    age_band: AgeBand = ""
    said_returning: Literal["", "yes", "no"] = ""

    @field_validator("services", "referrals")
    @classmethod
    def _once_each(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))


class RecordError(Exception):
    """A refused record: `code` and a message a person can act on."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def record_options() -> dict[str, list[dict[str, str]]]:
    """The choices the end-of-chat record offers, in the admin's order (active ones only)."""
    referrals = ReferralDestination.objects.filter(active=True).select_related("directory_entry")
    return {
        "services": [{"value": s.slug, "label": s.label} for s in ServiceGiven.objects.filter(active=True)],
        "referrals": [
            {
                "value": r.slug,
                "label": r.label,
                "directory": r.directory_entry.name if r.directory_entry and r.directory_entry.active else "",
            }
            for r in referrals
        ],
        "genders": [{"value": v, "label": label} for v, label in GENDERS],
        "age_bands": [{"value": v, "label": label} for v, label in AGE_BANDS],
        "said_returning": [{"value": v, "label": label} for v, label in SAID_RETURNING],
    }


def _unknown(given: list[str], model: type[ServiceGiven] | type[ReferralDestination]) -> list[str]:
    known = set(model.objects.filter(active=True, slug__in=given).values_list("slug", flat=True))
    return [slug for slug in given if slug not in known]


def contact_record_save(*, user_id: int, conversation_id: UUID, record: ContactRecordBody) -> ContactStatistic:
    """Record (or correct) the end-of-chat figures of a chat that has ended. The advisor who
    held it, or a supervisor, may; anyone else is told it does not exist (and the refusal is
    audited by the conversation gate)."""
    for field, model in (("services", ServiceGiven), ("referrals", ReferralDestination)):
        unknown = _unknown(getattr(record, field), model)
        if unknown:
            raise RecordError("unknown_choice", f"Not a choice the helpline offers for {field}: {', '.join(unknown)}.")
    with transaction.atomic():
        try:
            actor = staff_actor(user_id=user_id)
            conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="view")
        except ProtocolError as refused:
            raise RecordError("not_found", "No such chat that you may record.") from refused
        if conversation.state != Conversation.State.CLOSED:
            raise RecordError("not_ended", "End the chat first: the record is kept with its figures.")
        statistic, _ = statistic_count(conversation=conversation)
        statistic.recorded = True
        statistic.services = list(record.services)
        statistic.referrals = list(record.referrals)
        statistic.gender = record.gender
        statistic.age_band = record.age_band
        statistic.said_returning = record.said_returning
        statistic.save(update_fields=["recorded", "services", "referrals", "gender", "age_band", "said_returning"])
    return statistic
