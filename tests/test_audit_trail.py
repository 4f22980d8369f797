"""The audit trail: it outlives the cases it names, names no content, and shows tampering."""

import base64
import hashlib
import json
import threading
from datetime import UTC
from io import StringIO
from itertools import pairwise
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from agents import audit
from agents.audit_models import AuditEvent
from chat.errors import ProtocolError
from chat.services.kernel import staff_actor
from chat.services.message import staff_receipt
from risk import checkpoints, referrals, services, signing, snapshots, tasks
from risk.audit_models import AuditCheckpoint
from risk.models import CaseRecord
from tests import factories
from tests.factories import chat_with, signed_in

pytestmark = pytest.mark.django_db


def test_erasing_a_case_leaves_its_events_as_tombstones(people: dict[str, Any]) -> None:
    advisor = people["advisor"]
    case = factories.case_with_chat(advisor)
    services.case_note_add(user=advisor, case_id=case.pk, text="He has a key to the flat")
    services.incident_add(user=advisor, case_id=case.pk, occurred_on=case.created_at.date(), note="Police called")
    case_id = case.pk
    before = list(AuditEvent.objects.filter(case_id=case_id).values_list("pk", "action"))
    assert len(before) >= 4

    CaseRecord.objects.filter(pk=case_id).delete()

    assert not CaseRecord.objects.filter(pk=case_id).exists()
    after = AuditEvent.objects.filter(case_id=case_id).order_by("pk")
    assert list(after.values_list("pk", "action")) == before
    # What survives says who did what and when, and nothing of what was said.
    for event in after:
        text = repr(event.detail)
        assert "key to the flat" not in text and "Police" not in text and "kill" not in text


def test_the_case_page_lists_its_events_without_reasons(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    case = factories.case_with_chat(advisor)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk)
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    referrals.referral_transition(
        user=advisor, referral_id=referral.pk, to_state="withdrawn", reason="She moved to her sister in Leeds"
    )
    page = signed_in(supervisor).get(f"/risk/cases/{case.pk}/").content.decode()
    assert "referral.withdrawn" in page and referral.reference in page
    assert "sister in Leeds" not in page.split('id="audit-heading"')[1]
    # Newest first, in the chain's order; a refused attempt on the case shows as such.
    with pytest.raises(services.NotFound):
        services.case_for_user(user=people["other"], case_id=case.pk, action="snapshot")
    trail = signed_in(supervisor).get(f"/risk/cases/{case.pk}/").content.decode().split('id="audit-heading"')[1]
    assert trail.index("case.refused") < trail.index("referral.withdrawn") < trail.index("case.create")
    assert "refused: snapshot" in trail
    assert not AuditEvent.objects.filter(detail__icontains="Leeds").exists()


# --- The hash chain ---------------------------------------------------------------------------


def tamper(sql: str, params: list[Any] | None = None, *, table: str = "risk_auditevent") -> None:
    """Change the trail behind the application's back, as the tables' owner could: switch the
    append-only trigger off, run `sql`, switch it on again."""
    with connection.cursor() as cursor:
        if table == "risk_auditchainhead":  # bookkeeping, not evidence: no trigger guards it
            cursor.execute(sql, params or [])
        elif connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred check
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute(sql, params or [])
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            name = f"{table}_no_update"
            cursor.execute(f"DROP TRIGGER {name}")
            cursor.execute(sql, params or [])
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, 'append-only'); END;"
            )


def verify() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as failed:
        return 1, out.getvalue() + str(failed)
    return 0, out.getvalue()


@pytest.fixture
def trail(people: dict[str, Any]) -> list[AuditEvent]:
    """A case worked on, giving a chain of several events."""
    advisor = people["advisor"]
    case = factories.case_with_chat(advisor)
    for number in range(3):
        services.case_note_add(user=advisor, case_id=case.pk, text=f"note {number}")
    return list(AuditEvent.objects.order_by("seq"))


def test_each_event_is_chained_to_the_one_before(trail: list[AuditEvent]) -> None:
    assert [e.seq for e in trail] == list(range(1, len(trail) + 1))
    assert trail[0].prev_hash == "0" * 64
    for before, after in pairwise(trail):
        assert after.prev_hash == before.hash
    # The canonical form, written out by hand from its definition in agents.audit.
    event = trail[-1]
    document = {
        "v": 1,
        "seq": event.seq,
        "prev": event.prev_hash,
        "at": event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": event.actor_id,
        "action": event.action,
        "case": str(event.case_id),
        "referral": None,
        "detail": event.detail,
    }
    data = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(data).hexdigest() == event.hash
    status, out = verify()
    assert status == 0 and f"from 1 to {len(trail)}" in out, out


def test_detail_holds_no_content(people: dict[str, Any]) -> None:
    advisor = people["advisor"]
    with pytest.raises(audit.AuditDetailRefused):
        audit.record(actor_id=advisor.pk, action="case.note", text="He hit me")
    with pytest.raises(audit.AuditDetailRefused):
        audit.record(actor_id=advisor.pk, action="case.note", note="x" * 500)
    with pytest.raises(audit.AuditDetailRefused):
        audit.record(actor_id=advisor.pk, action="case.note", requested="he knows where I live")
    with pytest.raises(audit.AuditDetailRefused):
        audit.record(actor_id=advisor.pk, action="case.note", note=1.5)
    assert not AuditEvent.objects.exists()


def test_an_edited_event_is_named(trail: list[AuditEvent]) -> None:
    target = trail[2]
    tamper("UPDATE risk_auditevent SET action = 'case.read' WHERE id = %s", [target.pk])
    status, out = verify()
    assert status == 1
    assert f"changed at {target.seq}: event {target.seq} (id {target.pk}, case.read) was changed" in out, out
    assert out.count("FAILED") == 1, out


def test_an_edited_and_rehashed_event_breaks_the_next_link(trail: list[AuditEvent]) -> None:
    target = trail[2]
    target.action = "case.read"
    tamper(
        "UPDATE risk_auditevent SET action = 'case.read', hash = %s WHERE id = %s",
        [audit.event_hash(target), target.pk],
    )
    status, out = verify()
    assert status == 1
    assert f"broken_link at {target.seq + 1}: event {target.seq + 1}" in out, out
    assert f"event {target.seq} was replaced" in out


def test_a_deleted_event_leaves_a_gap(trail: list[AuditEvent], caplog: pytest.LogCaptureFixture) -> None:
    assert tasks.audit_verify() == 0
    target = trail[1]
    tamper("DELETE FROM risk_auditevent WHERE id = %s", [target.pk])
    # The daily check logs it as an error for whoever watches the logs.
    assert tasks.audit_verify() == 1
    assert f"audit trail: gap at {target.seq}" in caplog.text
    status, out = verify()
    assert status == 1
    assert f"gap at {target.seq}: events {target.seq} are missing (the chain jumps to {target.seq + 1})" in out, out
    assert out.count("FAILED") == 1, out


def test_a_tail_cut_off_after_a_checkpoint_shows(trail: list[AuditEvent]) -> None:
    checkpoint = checkpoints.checkpoint_sign(reason="manual")
    assert checkpoint is not None and checkpoint.seq == trail[-1].seq
    assert verify()[0] == 0
    # Cut the last two events off and wind the head back too: only the checkpoint remembers.
    cut = trail[-2].seq
    tamper("DELETE FROM risk_auditevent WHERE seq >= %s", [cut])
    tamper(
        "UPDATE risk_auditchainhead SET seq = %s, hash = %s",
        [trail[-3].seq, trail[-3].hash],
        table="risk_auditchainhead",
    )
    status, out = verify()
    assert status == 1
    assert f"truncated at {cut}: the chain ends at {cut - 1} but checkpoint {checkpoint.pk}" in out, out
    assert f"events {cut}-{trail[-1].seq} were cut off" in out


def test_a_tail_cut_off_after_the_last_checkpoint_shows_by_the_head(trail: list[AuditEvent]) -> None:
    checkpoints.checkpoint_sign(reason="manual")
    audit.record(actor_id=trail[0].actor_id, action="case.read", case_id=trail[0].case_id)
    last = AuditEvent.objects.order_by("-seq").first()
    assert last is not None
    tamper("DELETE FROM risk_auditevent WHERE seq = %s", [last.seq])
    status, out = verify()
    assert status == 1
    assert f"truncated at {last.seq}: the chain ends at {last.seq - 1} but its head records {last.seq}" in out, out


def test_a_forged_checkpoint_is_refused(trail: list[AuditEvent]) -> None:
    real = checkpoints.checkpoint_sign(reason="manual")
    assert real is not None
    # Signed with a key the server never had, under the server's key id.
    other = Ed25519PrivateKey.generate()
    at = timezone.now()
    data = checkpoints.checkpoint_bytes(seq=trail[1].seq, hash=trail[1].hash, signed_at=at)
    forged = AuditCheckpoint.objects.create(
        seq=trail[1].seq,
        hash=trail[1].hash,
        signed_at=at,
        reason="manual",
        key_id=real.key_id,
        signature=base64.b64encode(other.sign(data)).decode(),
    )
    # And one naming a key nobody published.
    unknown = AuditCheckpoint.objects.create(
        seq=trail[2].seq, hash=trail[2].hash, signed_at=at, reason="manual", key_id="K-NOSUCHKEY", signature="AAAA"
    )
    status, out = verify()
    assert status == 1
    assert f"checkpoint_signature at {trail[1].seq}: checkpoint {forged.pk}" in out, out
    assert "The signature does not match this data" in out
    assert f"checkpoint_signature at {trail[2].seq}: checkpoint {unknown.pk}" in out
    assert "K-NOSUCHKEY" in out and "not among the published keys" in out
    # A real checkpoint moved to claim another place no longer verifies either.
    tamper(
        "UPDATE risk_auditcheckpoint SET seq = %s WHERE id = %s",
        [trail[-1].seq + 5, real.pk],
        table="risk_auditcheckpoint",
    )
    status, out = verify()
    assert f"checkpoint_signature at {trail[-1].seq + 5}: checkpoint {real.pk}" in out, out


def test_checkpoints_are_signed_on_export_and_on_schedule(
    people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    advisor = people["advisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    assert tasks.audit_checkpoint() == AuditEvent.objects.order_by("-seq").first().seq  # type: ignore[union-attr]
    assert tasks.audit_checkpoint() is None  # nothing new to sign
    with django_capture_on_commit_callbacks(execute=True):
        snapshots.snapshot_for_user(user=advisor, snapshot_id=snapshot.pk, action="export_json")
    export = AuditCheckpoint.objects.order_by("-pk").first()
    assert export is not None and export.reason == "export"
    assert export.seq == AuditEvent.objects.get(action="snapshot.export_json").seq
    assert "risk.tasks.audit_checkpoint" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    status, out = verify()
    assert status == 0 and "2 checkpoint(s) verified" in out, out


# --- Refused access -----------------------------------------------------------------------------


def test_a_refusal_survives_the_rollback_around_it(people: dict[str, Any]) -> None:
    advisor, other = people["advisor"], people["other"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    with pytest.raises(services.NotFound), transaction.atomic():
        services.case_for_user(user=other, case_id=case.pk)
    refused = AuditEvent.objects.filter(action="case.refused", actor=other)
    assert list(refused.values_list("case_id", "detail")) == [
        (case.pk, {"attempt": "read", "refusal": "not_found", "requested": str(case.pk)})
    ]
    # Refused in a block that is rolled back, inside one that commits: recorded once.
    with transaction.atomic(), pytest.raises(services.NotFound), transaction.atomic():
        snapshots.snapshot_for_user(user=other, snapshot_id=snapshot.pk, action="export_json")
    assert AuditEvent.objects.filter(action="snapshot.refused", actor=other, case_id=case.pk).count() == 1
    # A conversation refused by the chat gate, inside the chat service's own transaction.
    with pytest.raises(ProtocolError):
        staff_receipt(actor=staff_actor(user_id=other.pk), conversation_id=conversation.pk, seq=1)
    assert AuditEvent.objects.filter(
        action="conversation.refused", actor=other, detail__requested=str(conversation.pk)
    ).exists()
    # Whatever was asked for, only a well-formed id or "malformed" is kept.
    with pytest.raises(services.NotFound):
        services.case_for_user(user=other, case_id="../../etc/passwd' OR 1=1")
    assert AuditEvent.objects.filter(action="case.refused", detail__requested="malformed").exists()
    assert verify()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_a_refusal_survives_a_transaction_that_is_rolled_back(people: dict[str, Any]) -> None:
    advisor, other, supervisor = people["advisor"], people["other"], people["supervisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk)
    with pytest.raises(services.NotFound), transaction.atomic():
        services.case_note_add(user=advisor, case_id=case.pk, text="kept")
        referrals.referral_for_user(user=other, referral_id=referral.pk)
    # The note went with the rolled-back transaction; the refusal did not.
    assert not case.notes.exists()
    refusal = AuditEvent.objects.get(action="referral.refused", actor=other)
    assert (refusal.case_id, refusal.referral_id) == (case.pk, referral.pk)
    assert not AuditEvent.objects.filter(action="case.note").exists()
    # A refused transition by someone who may read the referral but not move it.
    services.case_share(user=advisor, case_id=case.pk, with_user_id=other.pk)
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    with pytest.raises(services.RiskError) as refused:
        referrals.referral_transition(user=other, referral_id=referral.pk, to_state="under_review")
    assert refused.value.code == "forbidden"
    assert AuditEvent.objects.filter(
        action="referral.refused", actor=other, detail__refusal="forbidden", detail__attempt="under_review"
    ).exists()
    assert supervisor is not None
    status, out = verify()
    assert status == 0, out


# --- Concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_make_one_unbroken_chain(people: dict[str, Any]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need the scaled profile's PostgreSQL")
    advisor = people["advisor"]
    case = factories.case_with_chat(advisor)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for _ in range(15):
                with transaction.atomic():
                    audit.record(actor_id=advisor.pk, action="case.read", case_id=case.pk)
                    # Hold the transaction open a moment, as a real request would.
                    AuditEvent.objects.filter(case_id=case.pk).exists()
        except BaseException as failed:
            errors.append(failed)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert AuditEvent.objects.filter(action="case.read", detail={}).count() >= 8 * 15
    status, out = verify()
    assert status == 0, out


def test_supervisors_read_tombstones_and_refusals_in_the_admin(people: dict[str, Any]) -> None:
    advisor, other, supervisor = people["advisor"], people["other"], people["supervisor"]
    case = factories.case_with_chat(advisor)
    with pytest.raises(services.NotFound):
        services.case_for_user(user=other, case_id=case.pk)
    CaseRecord.objects.filter(pk=case.pk).delete()
    for user in (supervisor, advisor):
        type(user).objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    page = signed_in(supervisor).get("/admin/agents/auditevent/").content.decode()
    assert "case.create" in page and "case.refused" in page and str(case.pk) in page
    # An advisor sees only the events of cases they may still open: none of the erased one's.
    assert str(case.pk) not in signed_in(advisor).get("/admin/agents/auditevent/").content.decode()


def test_checkpoints_verify_against_a_published_key_set(trail: list[AuditEvent], tmp_path: Any) -> None:
    checkpoints.checkpoint_sign(reason="manual")
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(signing.published_keys()))
    out = StringIO()
    call_command("verify_audit", "--keys", str(keys), stdout=out)
    assert "1 checkpoint(s) verified" in out.getvalue()
    # A key set that lacks the key: the checkpoint cannot be trusted.
    keys.write_text(json.dumps({**signing.published_keys(), "keys": []}))
    with pytest.raises(CommandError):
        call_command("verify_audit", "--keys", str(keys), stdout=(out := StringIO()))
    assert "not among the published keys" in out.getvalue()
    # Not a key set at all: said so, nothing verified.
    keys.write_text("{not json")
    with pytest.raises(CommandError, match="Cannot read a key set"):
        call_command("verify_audit", "--keys", str(keys))
    with pytest.raises(CommandError, match="Cannot read a key set"):
        call_command("verify_audit", "--keys", str(tmp_path / "missing.json"))


def test_a_chain_rewritten_consistently_still_differs_from_its_checkpoint(trail: list[AuditEvent]) -> None:
    checkpoint = checkpoints.checkpoint_sign(reason="manual")
    assert checkpoint is not None
    # Edit an early event and rehash every event after it, links and all: the chain alone looks
    # whole again, but the checkpoint signed another head.
    previous = trail[0].hash
    for event in AuditEvent.objects.filter(seq__gte=trail[1].seq).order_by("seq"):
        if event.seq == trail[1].seq:
            event.action = "case.read"
        event.prev_hash = previous
        event.hash = audit.event_hash(event)
        tamper(
            "UPDATE risk_auditevent SET action = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [event.action, event.prev_hash, event.hash, event.pk],
        )
        previous = event.hash
    status, out = verify()
    assert status == 1
    assert f"checkpoint_mismatch at {checkpoint.seq}: event {checkpoint.seq} is not the one checkpoint" in out, out
    assert out.count("FAILED") == 1, out
