"""Protocol v1: every websocket message, both ways, as a typed schema.

Inbound messages are validated against a discriminated union on `type`; unknown types and unknown
fields are rejected. docs/protocol.md carries a reference generated from these classes
(`manage.py protocol_doc`), and a test keeps the two in step.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

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


# --- Shared inbound ---------------------------------------------------------------------------


class Ping(Schema):
    """Keeps the socket (and a staff member's presence) alive; answered with `pong`. Consoles
    set `active` when the person used the page since the last ping (idle sign-out)."""

    type: Literal["ping"]
    id: RequestId | None = None
    active: bool = False


# --- Visitor inbound --------------------------------------------------------------------------


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


# --- Staff inbound ----------------------------------------------------------------------------


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


# --- Outbound ---------------------------------------------------------------------------------


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


class Entry(Schema):
    """One entry of a conversation's log. To the visitor `seq` is the visitor's numbering; to
    staff it is the full one (notes, whispers and staff-only events included)."""

    type: Literal["entry"] = "entry"
    conversation_id: UUID
    seq: Seq
    kind: Literal["text", "note", "whisper", "event"]
    sender_kind: Literal["visitor", "advisor", "supervisor", "system", "bot"]
    sender_name: str = ""
    text: str = ""
    event: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    client_msg_id: str | None = None
    created_at: datetime


class VisitorStatus(Schema):
    """The visitor's conversation state, with queue position and estimated wait while queued."""

    type: Literal["status"] = "status"
    conversation_id: UUID
    seq: Seq
    state: Literal["triage", "queued", "active", "waiting_visitor", "closed"]
    position: int | None = None
    estimated_wait_seconds: int | None = None
    staffed: bool | None = Field(
        default=None,
        description="While queued: whether anyone who could answer this queue is on shift now. "
        "false means nobody is available (all away or off shift), so there is no estimate.",
    )
    advisor_name: str = ""


class Holder(Schema):
    user_id: int
    name: str


class ConversationSummary(Schema):
    """Staff: a conversation's state, sent on hello and whenever it changes."""

    type: Literal["conversation"] = "conversation"
    conversation_id: UUID
    seq: Seq
    state: Literal["triage", "queued", "active", "waiting_visitor", "closed"]
    queue: str | None
    priority: int
    language: str
    detected_language: str = Field("", description="Detected offline from the visitor's first messages.")
    translation: bool = Field(False, description="Machine translation is available (`translate`).")
    topic: str
    triage: dict[str, Any]
    holder: Holder | None
    visitor_connected: bool
    queued_at: datetime | None
    accepted_at: datetime | None
    closed_at: datetime | None
    close_reason: str
    visitor_read_seq: Seq
    role: Literal["holder", "monitor", "participant", "none"]


class QueueTriage(Schema):
    """What an advisor choosing whom to take next sees of a waiting visitor's triage. Every
    answer, and the questions added to the flow in the admin, go only to the staff in the
    conversation (its `conversation` summary's `triage`)."""

    in_danger: bool
    about: str
    language: str
    help: list[str]
    region: str
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="The answers to the about, help and region questions as staff read them "
        "(keyed by those names), for showing in place of the codes.",
    )


class QueueEntry(Schema):
    conversation_id: UUID
    priority: int
    language: str
    topic: str
    triage: QueueTriage | None = Field(description="null when the visitor did not go through triage.")
    queued_at: datetime | None
    position: int


class QueueSnapshot(Schema):
    """Staff: a queue they serve, in order (priority, then wait); sent on hello and on change."""

    type: Literal["queue"] = "queue"
    queue: str
    name: str
    length: int
    entries: list[QueueEntry]


class Typing(Schema):
    type: Literal["typing"] = "typing"
    conversation_id: UUID
    seq: Seq
    sender_kind: Literal["visitor", "advisor", "supervisor"]
    active: bool


class Receipt(Schema):
    """The other side has received or read entries up to `seq` (in the receiver's numbering)."""

    type: Literal["receipt"] = "receipt"
    conversation_id: UUID
    seq: Seq
    status: Literal["delivered", "read"]
    by: Literal["visitor", "staff"]


class TransferOffered(Schema):
    """Staff: another advisor offers you a conversation."""

    type: Literal["transfer.offered"] = "transfer.offered"
    transfer_id: int
    conversation_id: UUID
    seq: Seq
    from_user_id: int
    from_name: str
    note: str


class TransferResult(Schema):
    """Staff: the outcome of a transfer you offered or were offered."""

    type: Literal["transfer.result"] = "transfer.result"
    transfer_id: int
    conversation_id: UUID
    seq: Seq
    state: Literal["accepted", "declined", "cancelled"]


class StaffState(Schema):
    type: Literal["staff.state"] = "staff.state"
    user_id: int
    availability: Literal["on_shift", "away", "off_shift"]
    load: int
    capacity: int


class ServiceStatusMessage(Schema):
    """Supervisors: the surge pause changed."""

    type: Literal["service.status"] = "service.status"
    paused: bool
    message: str
    changed_at: datetime | None
    changed_by: str


class ReferralNotice(Schema):
    """Staff: a MARAC referral changed state (to its referrer), or one was submitted or became
    overdue (to every supervisor)."""

    type: Literal["referral"] = "referral"
    referral_id: UUID
    reference: str
    state: str
    urgent: bool
    overdue: bool = False


class BlockNotice(Schema):
    """Supervisors: a visitor was blocked or a block lifted (`blocks.list` has the details)."""

    type: Literal["block"] = "block"
    block_id: int
    state: Literal["active", "lifted"]


class Unsubscribed(Schema):
    """Staff: you are no longer in this conversation (transferred, returned to the queue...)."""

    type: Literal["conversation.left"] = "conversation.left"
    conversation_id: UUID
    seq: Seq
    reason: str


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
VISITOR_OUTBOUND: tuple[type[Schema], ...] = (Reply, Pong, Entry, VisitorStatus, Typing, Receipt)
STAFF_OUTBOUND: tuple[type[Schema], ...] = (
    Reply,
    Pong,
    Entry,
    ConversationSummary,
    QueueSnapshot,
    Typing,
    Receipt,
    TransferOffered,
    TransferResult,
    StaffState,
    Unsubscribed,
    ServiceStatusMessage,
    ReferralNotice,
    BlockNotice,
)


# --- Errors -----------------------------------------------------------------------------------

ERROR_CODES: dict[str, str] = {
    "bad_json": "The frame is not a JSON object.",
    "binary_frame": "Binary frames are not read (the protocol is JSON text frames); the socket stays open.",
    "unknown_type": "The `type` is missing or not one this socket accepts.",
    "invalid": "A field is missing, unknown, of the wrong type or out of range; `message` names it.",
    "text_too_long": "`text` is over 4,000 characters.",
    "frame_too_large": (
        "The frame is over 64 KB (and at most 256 KB); the socket is then closed with 1009. A frame or "
        "message over 256 KB gets no reply: the server closes with 1009 as soon as its header arrives."
    ),
    "rate_limited": "Too many messages on this socket; slow down. Persisting past it closes the socket (4008).",
    "hello_required": (
        "The first message on a socket must be `hello` (the visitor socket also answers `triage.flow` "
        "and `directory.lookup` before it)."
    ),
    "already_said_hello": "`hello` was already accepted on this socket.",
    "invalid_token": "The visitor token is unknown; the socket is then closed with 4001.",
    "token_expired": (
        "The visitor session has expired; the socket is then closed with 4002. "
        "Say `hello` without a token to start again."
    ),
    "seq_ahead": (
        "`last_seq` is past the end of the conversation's log; `message` names the end. Nothing was "
        "changed: ask again (`hello` or `sync`) with `last_seq` at most the end."
    ),
    "not_found": "No such conversation (or transfer) that you may act on.",
    "no_conversation": "The visitor has no open conversation.",
    "conversation_open": "The visitor already has an open conversation.",
    "forbidden": "Your role may not do this (e.g. a whisper from an advisor).",
    "not_holder": "Only the advisor holding the conversation may do this.",
    "already_taken": "Another advisor accepted this conversation first.",
    "at_capacity": "You already hold as many conversations as your capacity allows.",
    "not_on_shift": "Set yourself on shift first.",
    "invalid_state": "The conversation is not in a state that allows this.",
    "conversation_closed": "The conversation has ended.",
    "queue_empty": "No conversation is waiting in the queues you serve.",
    "duplicate_client_id": "That client_msg_id was already used by another sender in this conversation.",
    "target_unavailable": "The advisor to transfer to is not on shift, not connected, or at capacity.",
    "unknown_queue": "No such queue.",
    "closed": "The chat is closed now (opening hours); `hello`'s `service.hours` says when it opens.",
    "triage_incomplete": "A required triage question has no answer; `message` names it.",
    "unknown_region": "No such region in the directory.",
    "paused": "New chats are paused for now (supervisors' surge pause); `message` says what to tell the visitor.",
    "unknown_language": "That language is not one the chat offers.",
    "translation_unavailable": "No machine translation is configured; use an interpreter.",
    "translation_failed": "The translation service could not translate this now; `message` says why.",
    "unavailable": (
        "The chat is not available to this visitor for now (a time-limited block by staff). Also sent "
        "with `id: null` when the block comes mid-chat. The socket stays open for `directory.lookup` "
        "and `triage.flow`; show the visitor a neutral message and the other ways to get help."
    ),
    "already_blocked": "This visitor is already blocked; a supervisor can lift the block and block again.",
    "block_ended": "That block has already been lifted or has expired.",
    "feedback_given": "This chat's feedback was already given.",
    "no_ended_chat": "No chat of this visitor has ended in the last hour, so there is nothing to give feedback on.",
    "internal_error": "Something failed on the server; nothing was stored. Retry with the same ids.",
}

CLOSE_CODES: dict[int, str] = {
    1002: "The client broke the websocket protocol (an unmasked or malformed frame), sent by the server.",
    1007: "A text frame that is not valid UTF-8, sent by the server.",
    1009: (
        "A frame or a message (its fragments together) over 64 KB: after a `frame_too_large` reply "
        "up to 256 KB, at once over 256 KB (without reading the rest)."
    ),
    4001: "Invalid visitor token.",
    4002: "Visitor session expired.",
    4003: "Staff socket without a signed-in staff session (or the account was deactivated).",
    4008: "Flood: the socket kept sending past the rate limit.",
    4010: "Staff signed out: by themselves, after the idle timeout, or because the account lost access.",
}
