"""The JSON bodies of the return phrase API (risk.return_phrase_views), as schemas: unknown fields
and wrong types refused, nothing coerced. Whether the words are words of the list, the service
checks (risk.return_phrases)."""

from uuid import UUID

from pydantic import Field

from risk.api_schemas import Body, VersionLabel
from risk.return_phrases import PHRASE_MAX


class PhraseIssue(Body):
    """Offer a return phrase for the case, in this chat of it (if named)."""

    conversation_id: UUID | None = None


class PhraseRevoke(Body):
    """Revoke the phrase (no fields)."""


class PhraseAttach(Body):
    """The visitor gave their return phrase and agreed that this chat joins their case: `consent`
    must be true. The checklist then starts against `version` (a current one; else the adults')."""

    phrase: str = Field(min_length=1, max_length=PHRASE_MAX)
    consent: bool
    version: VersionLabel | None = None
