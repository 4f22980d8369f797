"""Shapes of the signed documents a verifier reads: the published key set."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class PublishedKey(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    key_id: str = Field(min_length=1, max_length=40)
    algorithm: Literal["Ed25519"]
    public_key: str = Field(min_length=1, max_length=64)
    created_at: AwareDatetime
    revoked_from: AwareDatetime | None = None
    revoked_reason: str = ""
    pdf_certificate: str = Field(default="", max_length=10_000)


class KeySet(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    format: Literal["helpline-signing-keys/1"]
    keys: list[PublishedKey]
