"""The exported transcript (JSON), as a verifier reads it: exactly these fields, nothing more."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

EXPORT_FORMAT = "helpline-transcript-export/2"
CONTENT_FORMAT = "helpline-transcript/1"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Entry(Strict):
    seq: int = Field(ge=0)
    at: str
    kind: str
    from_: str = Field(alias="from")
    name: str
    event: str
    text: str


class Content(Strict):
    format: Literal["helpline-transcript/1"]
    case: str
    conversation: str
    started_at: str
    closed_at: str | None
    entries: list[Entry]


class SignatureBlock(Strict):
    algorithm: Literal["Ed25519"]
    key_id: str = Field(min_length=1, max_length=40)
    signed_at: str
    value: str = Field(min_length=1, max_length=100)


class SignedAt(BaseModel):
    at: AwareDatetime


class Export(Strict):
    format: Literal["helpline-transcript-export/2"]
    snapshot: str = Field(min_length=36, max_length=36)
    sealed_at: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: SignatureBlock
    content: Content
