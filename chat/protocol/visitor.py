"""The visitor socket's inbound messages (/ws/visitor/), validated as a union on `type`."""

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from chat.protocol.common import ClientMsgId, LanguageCode, Ping, RequestId, Schema, Seq, Text


class VisitorHello(Schema):
    """First message on the visitor socket. Without a token a new anonymous session is made and
    its token returned once; with one, the visitor's open conversation is resumed and every
    entry after `last_seq` replayed in order."""

    type: Literal["hello"]
    id: RequestId
    token: Annotated[str, Field(min_length=16, max_length=128)] | None = None
    last_seq: Seq = 0
    language: LanguageCode = Field("en", description="Words the opening hours in this language.")


class ConversationStart(Schema):
    """Start a conversation; it begins in triage with the bot."""

    type: Literal["conversation.start"]
    id: RequestId
    language: LanguageCode | None = None


Slug = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]


TriageAnswer = Slug | Annotated[list[Slug], Field(max_length=20)]


class TriageFlow(Schema):
    """The triage questions, worded in `language`, with their options. The flow is data staff
    edit; an option marked `emergency` means the emergency number is shown at once. Needs no
    conversation, so the questions can be shown before one starts."""

    type: Literal["triage.flow"]
    id: RequestId
    language: LanguageCode = "en"


class DirectoryLookup(Schema):
    """The directory: the regions, the national services, and those of `region` when given.
    A refuge's address is never included, only its contact route. Needs no conversation."""

    type: Literal["directory.lookup"]
    id: RequestId
    region: Slug | None = None
    language: LanguageCode = "en"


class TriageSubmit(Schema):
    """Finish triage and join the queue chosen by the answers: question key to the chosen
    option's value (a list of values for a question with `multiple`). Checked against the flow."""

    type: Literal["triage.submit"]
    id: RequestId
    answers: Annotated[dict[Slug, TriageAnswer], Field(max_length=30)]


class VisitorMessageSend(Schema):
    type: Literal["message.send"]
    id: RequestId
    client_msg_id: ClientMsgId
    text: Text


class VisitorTyping(Schema):
    type: Literal["typing"]
    id: RequestId | None = None
    active: bool


class VisitorReceipt(Schema):
    """The visitor's client has received (`delivered`) or shown (`read`) entries up to `seq`."""

    type: Literal["receipt"]
    id: RequestId | None = None
    seq: Seq
    status: Literal["delivered", "read"]


class VisitorSync(Schema):
    """Ask again for everything after `last_seq` (sent when a gap in sequence numbers shows)."""

    type: Literal["sync"]
    id: RequestId
    last_seq: Seq


class VisitorEnd(Schema):
    type: Literal["conversation.end"]
    id: RequestId


class LanguageSet(Schema):
    """The visitor took the suggested language (or chose another) during the chat: advisors who
    speak it are preferred from now on, and the advisor is told."""

    type: Literal["language.set"]
    id: RequestId
    language: LanguageCode


class QuickExit(Schema):
    """The visitor left in a hurry: the conversation ends at once and the advisor is told."""

    type: Literal["quick_exit"]
    id: RequestId | None = None


class Feedback(Schema):
    """The optional, anonymous answer to "Did this chat help?", once per chat, within an hour of
    the visitor's latest chat ending. Kept only as a count per day and answer; nothing records
    which chat gave it."""

    type: Literal["feedback"]
    id: RequestId
    answer: Literal["yes", "partly", "no"]


VisitorInbound = Annotated[
    VisitorHello
    | ConversationStart
    | TriageFlow
    | DirectoryLookup
    | TriageSubmit
    | VisitorMessageSend
    | VisitorTyping
    | VisitorReceipt
    | VisitorSync
    | VisitorEnd
    | LanguageSet
    | QuickExit
    | Feedback
    | Ping,
    Field(discriminator="type"),
]


visitor_inbound: TypeAdapter[Any] = TypeAdapter(VisitorInbound)


VISITOR_INBOUND: tuple[type[Schema], ...] = (
    VisitorHello,
    ConversationStart,
    TriageFlow,
    DirectoryLookup,
    TriageSubmit,
    VisitorMessageSend,
    VisitorTyping,
    VisitorReceipt,
    VisitorSync,
    VisitorEnd,
    LanguageSet,
    QuickExit,
    Feedback,
    Ping,
)
