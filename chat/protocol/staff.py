"""The staff socket's inbound messages (/ws/console/), validated as a union on `type`."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter, model_validator

from chat.protocol.common import ClientMsgId, LanguageCode, Ping, RequestId, Schema, Seq, Text


class StaffHello(Schema):
    """First message on the staff socket. `last_seq` maps conversation ids to the last sequence
    number the console has; the server replays what is missing for every conversation the
    staff member is in (from 0 for those not named)."""

    type: Literal["hello"]
    id: RequestId
    last_seq: dict[UUID, Seq] = Field(default_factory=dict, max_length=200)


class StaffSync(Schema):
    type: Literal["sync"]
    id: RequestId
    conversation_id: UUID
    last_seq: Seq


class AvailabilitySet(Schema):
    type: Literal["availability.set"]
    id: RequestId
    availability: Literal["on_shift", "away", "off_shift"]


class TakeNext(Schema):
    """Accept the conversation at the head of the queues this advisor serves."""

    type: Literal["queue.take_next"]
    id: RequestId


class ConversationAccept(Schema):
    """Accept one queued conversation. Of several advisors accepting it at once exactly one
    wins; the others get `already_taken`."""

    type: Literal["conversation.accept"]
    id: RequestId
    conversation_id: UUID


class StaffMessageSend(Schema):
    """`text` goes to the visitor; `note` is private to staff; `whisper` (supervisors only)
    is seen by staff in the conversation, never by the visitor."""

    type: Literal["message.send"]
    id: RequestId
    conversation_id: UUID
    client_msg_id: ClientMsgId
    text: Text
    kind: Literal["text", "note", "whisper"] = "text"


class StaffTyping(Schema):
    type: Literal["typing"]
    id: RequestId | None = None
    conversation_id: UUID
    active: bool


class StaffReceipt(Schema):
    """The console has shown entries up to `seq` (staff numbering)."""

    type: Literal["receipt"]
    id: RequestId | None = None
    conversation_id: UUID
    seq: Seq
    status: Literal["read"] = "read"


class TransferOffer(Schema):
    """Warm transfer: offer the conversation to another advisor on shift, with a private note."""

    type: Literal["transfer.offer"]
    id: RequestId
    conversation_id: UUID
    to_user_id: int = Field(ge=1)
    note: Annotated[str, Field(max_length=4000)] = ""


class TransferRespond(Schema):
    type: Literal["transfer.respond"]
    id: RequestId
    transfer_id: int = Field(ge=1)
    accept: bool


class ConversationRequeue(Schema):
    """Hand the conversation back to a queue (its own, or another by slug), with a private note."""

    type: Literal["conversation.requeue"]
    id: RequestId
    conversation_id: UUID
    queue: Annotated[str, Field(max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")] | None = None
    note: Annotated[str, Field(max_length=4000)] = ""


Outcome = Literal[
    "information_given",
    "emotional_support",
    "referred_police",
    "referred_social_services",
    "referred_refuge",
    "referred_legal",
    "referred_health",
    "referred_perpetrator_service",
    "visitor_left",
    "quick_exit",
    "other",
]


class StaffEnd(Schema):
    type: Literal["conversation.end"]
    id: RequestId
    conversation_id: UUID
    outcome: Outcome = "other"


class SuperviseMonitor(Schema):
    """Supervisors: watch a conversation silently (the visitor is not told)."""

    type: Literal["supervise.monitor"]
    id: RequestId
    conversation_id: UUID


class SuperviseJoin(Schema):
    """Supervisors: join a conversation openly (the visitor is told a supervisor joined)."""

    type: Literal["supervise.join"]
    id: RequestId
    conversation_id: UUID


class SuperviseLeave(Schema):
    type: Literal["supervise.leave"]
    id: RequestId
    conversation_id: UUID


class ConversationReassign(Schema):
    """Supervisors: give a live conversation to another advisor on shift at once."""

    type: Literal["conversation.reassign"]
    id: RequestId
    conversation_id: UUID
    to_user_id: int = Field(ge=1)
    note: Annotated[str, Field(max_length=4000)] = ""


class StaffList(Schema):
    """Every active staff member with availability, load and capacity (transfer targets,
    supervision)."""

    type: Literal["staff.list"]
    id: RequestId


class ConversationsList(Schema):
    """Supervisors: every open conversation, as `conversation` summaries in the reply."""

    type: Literal["conversations.list"]
    id: RequestId


class ServicePause(Schema):
    """Supervisors: the surge pause. While paused no new chat starts (`conversation.start` gets
    `paused` with `message`); queued and running chats carry on."""

    type: Literal["service.pause"]
    id: RequestId
    paused: bool
    message: Annotated[str, Field(max_length=500)] = ""


class Translate(Schema):
    """Machine translation for the advisor, never stored and never shown to the visitor. With
    `seq`, that entry of the conversation is translated into `target` (default: your first
    language); with `text` (your draft reply), it is translated from your language into the
    conversation's, for you to check and send. Exactly one of the two."""

    type: Literal["translate"]
    id: RequestId
    conversation_id: UUID
    seq: Seq | None = None
    text: Text | None = None
    target: LanguageCode | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Translate":
        if (self.seq is None) == (self.text is None):
            raise ValueError("give exactly one of `seq` and `text`")
        return self


class CannedList(Schema):
    """The team's canned responses and your own."""

    type: Literal["canned.list"]
    id: RequestId


class VisitorBlockRequest(Schema):
    """Block the visitor of this conversation for `hours` (the advisor holding it, or a
    supervisor). Their chat ends at once; the visitor is only told the chat is not available.
    `connection` blocks the connection they came from too, for at most 24 hours (it may be
    shared: a library, a refuge, a mobile network). A reason is required; `note` too for
    `other`. The reply's `block` is as in `blocks.list`."""

    type: Literal["visitor.block"]
    id: RequestId
    conversation_id: UUID
    hours: int = Field(ge=1, le=720, description="1 hour to 30 days.")
    reason: Literal["abusive", "automated", "hoax", "other"]
    note: Annotated[str, Field(max_length=500)] = ""
    connection: bool = False

    @model_validator(mode="after")
    def _note_for_other(self) -> "VisitorBlockRequest":
        if self.reason == "other" and not self.note.strip():
            raise ValueError("say why in `note` when the reason is `other`")
        return self


class BlocksList(Schema):
    """Supervisors: the blocks in force, then those ended in the last 30 days, in `blocks`: each
    with `block_id`, `state` (active, lifted, expired), `reason`, `note`, `hours`, `connection`,
    `conversation_id`, `created_at`, `created_by`, `expires_at`, `lifted_at`, `lifted_by`."""

    type: Literal["blocks.list"]
    id: RequestId


class BlockLift(Schema):
    """Supervisors: end a block early, with an optional note for the audit trail."""

    type: Literal["block.lift"]
    id: RequestId
    block_id: int = Field(ge=1)
    note: Annotated[str, Field(max_length=500)] = ""


StaffInbound = Annotated[
    StaffHello
    | StaffSync
    | AvailabilitySet
    | TakeNext
    | ConversationAccept
    | StaffMessageSend
    | StaffTyping
    | StaffReceipt
    | TransferOffer
    | TransferRespond
    | ConversationRequeue
    | StaffEnd
    | SuperviseMonitor
    | SuperviseJoin
    | SuperviseLeave
    | ConversationReassign
    | StaffList
    | ConversationsList
    | CannedList
    | ServicePause
    | Translate
    | VisitorBlockRequest
    | BlocksList
    | BlockLift
    | Ping,
    Field(discriminator="type"),
]


staff_inbound: TypeAdapter[Any] = TypeAdapter(StaffInbound)


STAFF_INBOUND: tuple[type[Schema], ...] = (
    StaffHello,
    StaffSync,
    AvailabilitySet,
    TakeNext,
    ConversationAccept,
    StaffMessageSend,
    StaffTyping,
    StaffReceipt,
    TransferOffer,
    TransferRespond,
    ConversationRequeue,
    StaffEnd,
    SuperviseMonitor,
    SuperviseJoin,
    SuperviseLeave,
    ConversationReassign,
    StaffList,
    ConversationsList,
    CannedList,
    ServicePause,
    Translate,
    VisitorBlockRequest,
    BlocksList,
    BlockLift,
    Ping,
)
