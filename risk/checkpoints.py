"""Signed checkpoints of the audit chain's head.

A checkpoint signs, with the server's current key (risk.signing), the canonical bytes

    the UTF-8 JSON object {"format": "helpline-audit-checkpoint/1", "seq": <int>,
    "hash": <the hash of event seq>, "signed_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ"}
    with keys sorted and no spaces.

It proves that at `signed_at` the chain ran to `seq` and ended in `hash`: events up to there
cannot be changed, removed or cut off without `verify_audit` saying so, even by someone who can
write to the database, unless they also hold the private key. Checkpoints are made on a schedule
(Celery beat, settings.AUDIT_CHECKPOINT_MINUTES) and after every transcript export.
"""

import json
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from agents.audit import utc_text
from agents.audit_models import AuditEvent
from risk import signing
from risk.audit_models import AuditCheckpoint

FORMAT = "helpline-audit-checkpoint/1"


def checkpoint_bytes(*, seq: int, hash: str, signed_at: datetime) -> bytes:
    document = {"format": FORMAT, "seq": seq, "hash": hash, "signed_at": utc_text(signed_at)}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


def checkpoint_sign(*, reason: str) -> AuditCheckpoint | None:
    """Sign the last committed event. Returns None when there is nothing new to sign: no events,
    or a scheduled run finding the last checkpoint already at the head."""
    if reason not in AuditCheckpoint.Reason.values:
        raise ValueError(f"unknown checkpoint reason {reason!r}")
    # Appends commit in chain order (they queue on the head row), so the last committed event
    # has every earlier one committed before it.
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    if head is None:
        return None
    seq, head_hash = head
    last = AuditCheckpoint.objects.order_by("-seq", "-pk").first()
    if reason == AuditCheckpoint.Reason.SCHEDULE and last is not None and last.seq >= seq:
        return None
    signed_at = timezone.now()
    signature = signing.sign_bytes(checkpoint_bytes(seq=seq, hash=head_hash, signed_at=signed_at))
    return AuditCheckpoint.objects.create(
        seq=seq,
        hash=head_hash,
        signed_at=signed_at,
        reason=reason,
        key_id=signature.key_id,
        signature=signature.signature,
    )


def checkpoint_after_commit(*, reason: str) -> None:
    """Sign a checkpoint once the caller's transaction has committed (at once outside one): a
    checkpoint never covers an event that could still be rolled back."""
    transaction.on_commit(lambda: checkpoint_sign(reason=reason))
