"""The audit trail as a hash chain.

Every event takes the next place (`seq`, from 1) in one chain and stores `prev_hash`, the hash
of the event before it (64 zeros for the first), and `hash`, the SHA-256 (lower-case hex) of its
canonical form:

    the UTF-8 bytes of the JSON object
    {"v": 1, "seq": <int>, "prev": <prev_hash>, "at": <UTC time>, "actor": <user id or null>,
     "action": <str>, "case": <case id or null>, "referral": <referral id or null>,
     "detail": <object>}
    with keys sorted, no spaces (separators "," and ":"), non-ASCII characters written as
    themselves, and every string in NFC. <UTC time> is "YYYY-MM-DDTHH:MM:SS.ffffffZ"; case and
    referral ids are UUIDs written in lower case with hyphens.

Changing any field of an event changes its hash; removing an event leaves a gap in `seq` and a
`prev_hash` that names nothing. Signed checkpoints (risk.checkpoints) fix the chain's head at a
moment, so that cutting events off the end shows too.

`detail` holds ids, hashes, counts and codes - never what anybody said or wrote: `append`
refuses any other key, and any value but a short token (letters, digits and "_.:-", no spaces),
a whole number, true, false, null or a list of those (no floats, whose text could change on the
way through the database).
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents import canonical as canonical_form
from agents.audit_models import AuditChainHead, AuditEvent

FORMAT_VERSION = 1
GENESIS = "0" * 64
HEAD_ID = 1

# What `detail` may name. Anything else is refused, so that no caller puts content in the trail.
DETAIL_KEYS = frozenset(
    {
        "assessment",  # assessment id
        "block",  # a visitor block's id
        "block_reason",  # a block's reason code ("abusive", "automated", ...)
        "connection",  # whether a block covers the visitor's connection too
        "consent",  # whether the visitor's consent was recorded (a chat linked by its return phrase)
        "masked_entries",  # the seqs of a chat's entries whose return phrase was masked (never the words)
        "fields",  # the professional's fields changed on an assessment (which fields, never the values)
        "hours",  # how long a block lasts
        "note_given",  # whether the person wrote a note (never the note)
        "attempt",  # what a refused request tried to do ("read", "change", ...)
        "checkpoint",  # checkpoint id
        "conversation",  # conversation id
        "delivery",  # a referral delivery's id (risk.delivery)
        "delivery_error",  # why a delivery's email failed, as a code ("smtp_550", "unreachable", ...)
        "agency",  # an agency's id (the directory of risk.agency_models)
        "incident",  # incident id
        "key_id",  # a signing key's id
        "linked_referrals",  # referral ids a perpetrator search or link check found
        "marac_action",  # a MARAC action's id
        "matches",  # how many referrals a perpetrator search or link check found
        "meeting_outcome",  # a MARAC meeting outcome's id
        "status",  # the status a MARAC action was set to (open, done, not_done)
        "keys",  # checklist item keys answered (which questions, never the answers)
        "note",  # case note id
        "refusal",  # a refusal's code ("not_found", "forbidden")
        "requested",  # the id or reference a refused request asked for, when well formed
        "return_phrase",  # a return phrase's id (never its words)
        "safeguarding",  # safeguarding decision id
        "sha256",  # a snapshot's seal
        "snapshot",  # snapshot id
        "version",  # the checklist version an assessment moved to
        "with_user_id",  # a user id
    }
)
# Strings in `detail` are ids, hashes, references and codes: no spaces, nothing to read.
TOKEN = re.compile(r"[A-Za-z0-9_.:-]{0,100}")


class AuditDetailRefused(ValueError):
    pass


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid_text(value: UUID | str | None) -> str | None:
    return None if value is None else str(UUID(str(value)))


def canonical(
    *,
    seq: int,
    prev_hash: str,
    at: datetime,
    actor_id: int | None,
    action: str,
    case_id: UUID | str | None,
    referral_id: UUID | str | None,
    detail: dict[str, Any],
) -> bytes:
    document = {
        "v": FORMAT_VERSION,
        "seq": seq,
        "prev": prev_hash,
        "at": utc_text(at),
        "actor": actor_id,
        "action": action,
        "case": _uuid_text(case_id),
        "referral": _uuid_text(referral_id),
        "detail": detail,
    }
    return canonical_form.canonical(document)


def event_hash(event: AuditEvent) -> str:
    """The hash an event's stored fields give (compare it with `event.hash`)."""
    data = canonical(
        seq=event.seq,
        prev_hash=event.prev_hash,
        at=event.at,
        actor_id=event.actor_id,
        action=event.action,
        case_id=event.case_id,
        referral_id=event.referral_id,
        detail=event.detail,
    )
    return hashlib.sha256(data).hexdigest()


def check_detail(detail: dict[str, Any]) -> dict[str, Any]:
    def scalar(key: str, value: Any) -> None:
        if value is None or isinstance(value, bool | int):
            return
        if isinstance(value, str) and TOKEN.fullmatch(value):
            return
        raise AuditDetailRefused(f"audit detail {key!r}: only ids, codes and counts belong in the trail")

    for key, value in detail.items():
        if key not in DETAIL_KEYS:
            raise AuditDetailRefused(f"audit detail {key!r} is not one the trail keeps")
        for item in value if isinstance(value, list) else [value]:
            scalar(key, item)
    return detail


@dataclass(frozen=True)
class Entry:
    """An event not yet written (kept to write again if its transaction is rolled back)."""

    actor_id: int
    action: str
    case_id: UUID | str | None
    referral_id: UUID | str | None
    detail: dict[str, Any]


def _lock_head(using: str) -> AuditChainHead:
    """Lock the head row (an UPDATE takes the row lock on PostgreSQL; on SQLite every transaction
    here is IMMEDIATE and holds the write lock) and return it. Recreates it from the last event
    when it is missing (a fresh or emptied database)."""
    heads = AuditChainHead.objects.using(using)
    if not heads.filter(pk=HEAD_ID).update(seq=F("seq")):
        last = AuditEvent.objects.using(using).order_by("-seq").values_list("seq", "hash").first()
        seq, head_hash = last or (0, GENESIS)
        heads.bulk_create([AuditChainHead(pk=HEAD_ID, seq=seq, hash=head_hash)], ignore_conflicts=True)
        heads.filter(pk=HEAD_ID).update(seq=F("seq"))
    return heads.get(pk=HEAD_ID)


def append(entry: Entry, *, using: str = "default") -> AuditEvent:
    """Write one event at the end of the chain. Appends are serialised on the head row, held
    until the caller's transaction ends."""
    detail = check_detail(dict(entry.detail))
    with transaction.atomic(using=using):
        head = _lock_head(using)
        event = AuditEvent(
            seq=head.seq + 1,
            prev_hash=head.hash,
            at=timezone.now(),
            actor_id=entry.actor_id,
            action=entry.action[:40],
            case_id=entry.case_id,
            referral_id=entry.referral_id,
            detail=detail,
        )
        event.hash = event_hash(event)
        event.save(using=using)
        AuditChainHead.objects.using(using).filter(pk=HEAD_ID).update(seq=event.seq, hash=event.hash)
    return event


def record(
    *,
    actor_id: int,
    action: str,
    case_id: UUID | str | None = None,
    referral_id: UUID | str | None = None,
    **detail: Any,
) -> AuditEvent:
    """An event that stands or falls with the caller's transaction (a change and its record)."""
    return append(Entry(actor_id=actor_id, action=action, case_id=case_id, referral_id=referral_id, detail=detail))


def _requested(value: Any) -> str:
    """What a refused request asked for, if it is a well-formed id or reference; never free text."""
    text = str(value).strip()
    try:
        return str(UUID(text))
    except ValueError:
        pass
    if text.isdigit() and len(text) <= 18:
        return text
    upper = text.upper()
    # A case (C-) or a referral: MARAC (M-), IDVA (I-), safeguarding hub (S-), police (P-).
    if len(upper) == 10 and upper[:2] in ("C-", "M-", "I-", "S-", "P-") and upper[2:].isalnum():
        return upper
    return "malformed"


def record_refusal(
    *,
    actor_id: int | None,
    resource: str,
    attempt: str,
    requested: Any = None,
    reason: str = "not_found",
    case_id: UUID | str | None = None,
    referral_id: UUID | str | None = None,
) -> None:
    """Record that `actor_id` was refused `attempt` on a `resource` ("case", "snapshot",
    "referral", "conversation", ...). The event survives the rollback of the transaction the
    refusal happened in: it is written at once (visible to that transaction) and written again
    after the transaction ends if that one was rolled back."""
    if actor_id is None:
        return  # nobody signed in: the sign-in gate answered, not a record's
    attempt = attempt[:40] if TOKEN.fullmatch(attempt[:40]) else "malformed"
    detail: dict[str, Any] = {"attempt": attempt, "refusal": reason[:40]}
    if requested is not None:
        detail["requested"] = _requested(requested)
    entry = Entry(
        actor_id=actor_id, action=f"{resource}.refused", case_id=case_id, referral_id=referral_id, detail=detail
    )
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        append(entry)
        return
    written = None if connection.needs_rollback else append(entry)

    def write_if_lost() -> None:
        if written is None or not AuditEvent.objects.filter(hash=written.hash).exists():
            append(entry)

    run_after = getattr(connection, "run_after_transaction", None)
    if run_after is not None:
        run_after(write_if_lost)
    else:  # a backend without it (see config/db): only a commit keeps the record
        transaction.on_commit(write_if_lost)
