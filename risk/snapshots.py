"""Transcript snapshots: a conversation of a case sealed (hashed and signed) as it stands, then
exported as signed JSON or PDF. Every snapshot is reached through `snapshot_for_user`, which
audits the access like the gate in risk.services.
"""

from typing import Any
from uuid import UUID

from django.db import transaction

from agents import audit as audit_trail
from agents.canonical import seal
from risk import checkpoints, tasks
from risk.models import CaseConversation, TranscriptSnapshot
from risk.selectors import visible_cases
from risk.services import NotFound, audit, case_for_user, valid_uuid
from risk.transcripts import export_json, snapshot_sign


def snapshot_make(*, user: Any, case_id: UUID | str, conversation_id: UUID | str) -> TranscriptSnapshot:
    case = case_for_user(user=user, case_id=case_id, action="snapshot")
    link = (
        CaseConversation.objects.filter(case=case, conversation_id=conversation_id)
        .select_related("conversation")
        .first()
    )
    if link is None:
        raise NotFound()
    conversation = link.conversation
    entries = [
        {
            "seq": m.seq,
            "at": m.created_at.isoformat(),
            "kind": m.kind,
            "from": m.sender_kind,
            "name": m.sender_name,
            "event": m.event,
            "text": m.text,
        }
        for m in conversation.messages.order_by("seq")
    ]
    content = {
        "format": "helpline-transcript/1",
        "case": case.reference,
        "conversation": str(conversation.pk),
        "started_at": conversation.created_at.isoformat(),
        "closed_at": conversation.closed_at.isoformat() if conversation.closed_at else None,
        "entries": entries,
    }
    with transaction.atomic():  # no snapshot without its signature: a server that cannot sign refuses
        snapshot = TranscriptSnapshot.objects.create(
            case=case, conversation=conversation, content=content, sha256=seal(content), created_by_id=user.pk
        )
        snapshot = snapshot_sign(snapshot=snapshot)
        audit(
            user=user,
            action="snapshot.create",
            case=case,
            snapshot=str(snapshot.pk),
            sha256=snapshot.sha256,
            key_id=snapshot.key_id,
        )
        # The PDF is rendered ahead by a worker, once the snapshot is committed. The seal stands
        # without it: when it cannot be queued (the error is logged), an export renders it.
        pk = str(snapshot.pk)
        transaction.on_commit(lambda: tasks.snapshot_pdf.delay(pk), robust=True)
    return snapshot


def snapshot_for_user(*, user: Any, snapshot_id: UUID | str, action: str) -> TranscriptSnapshot:
    valid = valid_uuid(snapshot_id)
    snapshot = TranscriptSnapshot.objects.filter(pk=valid, case__in=visible_cases(user)).first() if valid else None
    if snapshot is None:
        known = TranscriptSnapshot.objects.filter(pk=valid).values_list("case_id", flat=True).first() if valid else None
        audit_trail.record_refusal(
            actor_id=user.pk, resource="snapshot", attempt=action, requested=snapshot_id, case_id=known
        )
        raise NotFound()
    audit(user=user, action=f"snapshot.{action}", case=snapshot.case, snapshot=str(snapshot.pk))
    if action.startswith("export"):
        checkpoints.checkpoint_after_commit(reason="export")
    return snapshot


def snapshot_json(snapshot: TranscriptSnapshot) -> bytes:
    """The signed JSON export (risk.transcripts has its shape and its verification)."""
    return export_json(snapshot)
