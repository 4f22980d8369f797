"""What the server sends on both sockets, besides the reply envelope."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from chat.protocol.common import Pong, Reply, Schema, Seq


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
    channel: str = Field("web", description='How the visitor came in: "web" (the widget) or "telegram".')
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
    channel: str = Field("web", description='How the visitor came in: "web" (the widget) or "telegram".')
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


class EntryAmended(Schema):
    """An entry already sent has new text (in the receiver's numbering): a secret the visitor
    typed, masked once used. The client shows the new text in its place."""

    type: Literal["entry.amended"] = "entry.amended"
    conversation_id: UUID
    seq: Seq
    text: str


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


VISITOR_OUTBOUND: tuple[type[Schema], ...] = (Reply, Pong, Entry, EntryAmended, VisitorStatus, Typing, Receipt)


STAFF_OUTBOUND: tuple[type[Schema], ...] = (
    Reply,
    Pong,
    Entry,
    EntryAmended,
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
