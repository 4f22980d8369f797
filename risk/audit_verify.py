"""Walking the audit chain and its checkpoints (`manage.py verify_audit`).

Each problem says what is wrong and where:
- `changed`: an event's stored fields no longer give its hash (it was edited);
- `broken_link`: an event's `prev_hash` is not the hash of the event before it (the one before
  was edited and given a new hash, or replaced);
- `gap`: places in the chain with no event (events were deleted);
- `truncated`: the chain ends before a place a signed checkpoint (or the chain head) says it
  reached (events were cut off the end);
- `checkpoint_signature`: a checkpoint whose signature is refused (forged, unknown or revoked key);
- `checkpoint_mismatch`: the event at a checkpoint's place is not the one it signed (the chain was
  rewritten from there).
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from agents.audit import GENESIS, HEAD_ID, event_hash
from agents.audit_models import AuditChainHead, AuditEvent
from risk import signing
from risk.audit_models import AuditCheckpoint
from risk.checkpoints import checkpoint_bytes

Verifier = Callable[[bytes, str, str, datetime], None]


@dataclass(frozen=True)
class Problem:
    kind: str
    seq: int
    message: str

    def __str__(self) -> str:
        return f"{self.kind} at {self.seq}: {self.message}"


@dataclass
class Report:
    events: int = 0
    first_seq: int | None = None
    last_seq: int = 0
    checkpoints: int = 0
    last_checkpoint: AuditCheckpoint | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _events(chunk: int = 2000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=after).order_by("seq")[:chunk])
        if not batch:
            return
        yield from batch
        after = batch[-1].seq


def database_verifier(data: bytes, key_id: str, signature: str, signed_at: datetime) -> None:
    signing.verify_bytes(data, key_id=key_id, signature=signature, signed_at=signed_at)


def published_verifier(keys: Mapping[str, signing.PublicKey]) -> Verifier:
    def verify(data: bytes, key_id: str, signature: str, signed_at: datetime) -> None:
        signing.verify_with(keys, data, key_id=key_id, signature=signature, signed_at=signed_at)

    return verify


def verify_chain(*, verifier: Verifier = database_verifier) -> Report:
    report = Report()
    # Only the hashes at checkpointed places are kept: the walk's memory stays flat.
    signed_places = set(AuditCheckpoint.objects.values_list("seq", flat=True))
    hashes: dict[int, str] = {}
    previous_seq, previous_hash = 0, GENESIS
    for event in _events():
        report.events += 1
        if report.first_seq is None:
            report.first_seq = event.seq
        if event.seq != previous_seq + 1:
            missing = f"{previous_seq + 1}" if event.seq == previous_seq + 2 else f"{previous_seq + 1}-{event.seq - 1}"
            report.problems.append(
                Problem("gap", previous_seq + 1, f"events {missing} are missing (the chain jumps to {event.seq})")
            )
        elif event.prev_hash != previous_hash:
            report.problems.append(
                Problem(
                    "broken_link",
                    event.seq,
                    f"event {event.seq} (id {event.pk}) follows a hash {event.prev_hash[:16]}… but event "
                    f"{previous_seq} now has {previous_hash[:16]}…: event {previous_seq} was replaced",
                )
            )
        if event_hash(event) != event.hash:
            report.problems.append(
                Problem(
                    "changed",
                    event.seq,
                    f"event {event.seq} (id {event.pk}, {event.action}) was changed: "
                    "its fields no longer give its hash",
                )
            )
        if event.seq in signed_places:
            hashes[event.seq] = event.hash
        previous_seq, previous_hash = event.seq, event.hash
    report.last_seq = previous_seq
    _check_checkpoints(report, hashes, verifier)
    _check_head(report)
    report.problems.sort(key=lambda problem: problem.seq)
    return report


def _check_checkpoints(report: Report, hashes: dict[int, str], verifier: Verifier) -> None:
    for checkpoint in AuditCheckpoint.objects.order_by("seq", "pk"):
        report.checkpoints += 1
        when = f"{checkpoint.signed_at:%Y-%m-%d %H:%M:%S} UTC"
        label = f"checkpoint {checkpoint.pk} ({checkpoint.get_reason_display().lower()}, {when})"
        data = checkpoint_bytes(seq=checkpoint.seq, hash=checkpoint.hash, signed_at=checkpoint.signed_at)
        try:
            verifier(data, checkpoint.key_id, checkpoint.signature, checkpoint.signed_at)
        except signing.SignatureError as refused:
            report.problems.append(
                Problem("checkpoint_signature", checkpoint.seq, f"{label} is not to be trusted: {refused.message}")
            )
            continue
        report.last_checkpoint = checkpoint
        if checkpoint.seq > report.last_seq:
            report.problems.append(
                Problem(
                    "truncated",
                    report.last_seq + 1,
                    f"the chain ends at {report.last_seq} but {label} signed it up to {checkpoint.seq}: "
                    f"events {report.last_seq + 1}-{checkpoint.seq} were cut off",
                )
            )
        elif checkpoint.seq in hashes and hashes[checkpoint.seq] != checkpoint.hash:
            report.problems.append(
                Problem(
                    "checkpoint_mismatch",
                    checkpoint.seq,
                    f"event {checkpoint.seq} is not the one {label} signed: the chain was rewritten up to there",
                )
            )


def _check_head(report: Report) -> None:
    """The head row is not evidence (whoever can write events can write it), but a head ahead of
    the last event shows a tail cut off after the last checkpoint by someone who left it."""
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    already = any(problem.kind == "truncated" for problem in report.problems)
    if head is not None and head.seq > report.last_seq and not already:
        report.problems.append(
            Problem(
                "truncated",
                report.last_seq + 1,
                f"the chain ends at {report.last_seq} but its head records {head.seq}: "
                f"events {report.last_seq + 1}-{head.seq} were cut off",
            )
        )
