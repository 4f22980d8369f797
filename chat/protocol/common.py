"""What every message of the protocol shares: the base schema, the field types, and the reply
envelope (`Reply`, `ErrorBody`, `Pong`).
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1


RequestId = Annotated[str, Field(min_length=1, max_length=64, description="Chosen by the client; echoed in the reply.")]


ClientMsgId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description=(
            "The sender's own id for this message, unique in the conversation; "
            "a resend with the same id returns the stored message."
        ),
    ),
]


Text = Annotated[str, Field(min_length=1, max_length=4000, description="At most 4,000 characters.")]


Seq = Annotated[int, Field(ge=0, le=2**31 - 1)]


LanguageCode = Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ping(Schema):
    """Keeps the socket (and a staff member's presence) alive; answered with `pong`. Consoles
    set `active` when the person used the page since the last ping (idle sign-out)."""

    type: Literal["ping"]
    id: RequestId | None = None
    active: bool = False


class ErrorBody(Schema):
    code: str
    message: str


class Reply(Schema):
    """The answer to every request that carried an `id` (and to every refused message)."""

    type: Literal["reply"] = "reply"
    id: str | None
    ok: bool
    result: dict[str, Any] | None = None
    error: ErrorBody | None = None


class Pong(Schema):
    type: Literal["pong"] = "pong"
    id: str | None = None
