"""Signed transcript exports: every forgery is refused with its reason, by the verify command."""

import base64
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from agents.audit_models import AuditEvent
from agents.canonical import seal
from risk import services, signing, snapshots, transcripts
from risk.models import ImmutableError, TranscriptSnapshot
from tests.factories import chat_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported(people: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    advisor = people["advisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    path = tmp_path / "transcript.json"
    path.write_bytes(snapshots.snapshot_json(snapshot))
    return {"snapshot": snapshot, "path": path, "document": json.loads(path.read_text(encoding="utf-8"))}


def verify(path: Path, *options: str) -> str:
    out = StringIO()
    call_command("verify_transcript", str(path), *options, stdout=out)
    return out.getvalue()


def refused(path: Path, code: str, match: str, *options: str) -> str:
    with pytest.raises(CommandError, match=match) as failure:
        verify(path, *options)
    assert failure.value.returncode == transcripts.Refused.EXIT_CODES[code], str(failure.value)
    return str(failure.value)


def write(tmp_path: Path, document: Any, name: str = "changed.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_signed_export_verifies_and_the_snapshot_is_signed_when_made(exported: dict[str, Any]) -> None:
    snapshot, document = exported["snapshot"], exported["document"]
    assert snapshot.key_id == signing.current_key().key_id and snapshot.signature and snapshot.signed_at
    assert set(document) == {"format", "snapshot", "sealed_at", "sha256", "signature", "content"}
    assert document["signature"]["key_id"] == snapshot.key_id
    report = verify(exported["path"])
    assert "OK" in report and snapshot.sha256 in report and "holds it unchanged" in report
    event = AuditEvent.objects.get(action="snapshot.create")
    assert event.detail["key_id"] == snapshot.key_id


def test_a_changed_character_is_refused_as_changed_content(exported: dict[str, Any], tmp_path: Path) -> None:
    document = exported["document"]
    entry = next(e for e in document["content"]["entries"] if e["text"].startswith("He said"))
    entry["text"] = entry["text"].replace("kill", "kilL")
    message = refused(write(tmp_path, document), "content", "CONTENT CHANGED")
    assert document["sha256"] in message


def test_a_recomputed_hash_is_refused_by_the_signature(exported: dict[str, Any], tmp_path: Path) -> None:
    document = exported["document"]
    document["content"]["entries"][-1]["text"] = "Nothing was said about threats."
    document["sha256"] = seal(document["content"])
    refused(write(tmp_path, document), "bad_signature", "SIGNATURE INVALID.*recomputed hash")
    # Any other signed field rewritten is refused the same way.
    for field, value in (
        ("sealed_at", "2020-01-01T00:00:00+00:00"),
        ("snapshot", "0" * 8 + "-0000-0000-0000-" + "0" * 12),
    ):
        changed = {**exported["document"], field: value}
        refused(write(tmp_path, changed), "bad_signature", "SIGNATURE INVALID")


def test_a_swapped_key_id_or_another_keys_signature_is_refused(exported: dict[str, Any], tmp_path: Path) -> None:
    document, first = exported["document"], exported["snapshot"].key_id
    second = signing.key_generate(make_current=True).key_id
    swapped = json.loads(json.dumps(document))
    swapped["signature"]["key_id"] = second
    refused(write(tmp_path, swapped), "bad_signature", f"under key {second}")
    swapped["signature"]["key_id"] = "20990101-ffffffffffffffff"
    refused(write(tmp_path, swapped), "unknown_key", "UNKNOWN KEY.*20990101-ffffffffffffffff")
    # The same statement, signed by the other key, under the first key's id.
    data = transcripts.statement(
        snapshot_id=document["snapshot"],
        sha256=document["sha256"],
        sealed_at=document["sealed_at"],
        signed_at=document["signature"]["signed_at"],
    )
    other = base64.b64encode(signing.private_keys(second).ed25519.sign(data)).decode()
    forged = json.loads(json.dumps(document))
    forged["signature"]["value"] = other
    refused(write(tmp_path, forged), "bad_signature", f"under key {first}")
    # Under the other key's own id it would verify: the key, not the file, is what is trusted.
    forged["signature"]["key_id"] = second
    refused(write(tmp_path, forged), "differs_from_database", "key id, signature")
    # The first key still verifies what it signed after the rotation.
    assert "OK" in verify(exported["path"])


def test_a_revoked_key_is_refused_but_not_for_what_it_signed_before(exported: dict[str, Any]) -> None:
    snapshot = exported["snapshot"]
    signing.key_revoke(key_id=snapshot.key_id, revoked_from=snapshot.signed_at + timedelta(seconds=1), reason="rotated")
    assert "OK" in verify(exported["path"])
    signing.SigningKey.objects.filter(key_id=snapshot.key_id).update(revoked_from=snapshot.signed_at)
    refused(exported["path"], "revoked_key", f"REVOKED KEY: The signing key {snapshot.key_id} is revoked")


def test_a_truncated_or_damaged_file_is_refused(exported: dict[str, Any], tmp_path: Path) -> None:
    raw = exported["path"].read_bytes()
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(raw[: len(raw) // 2])
    refused(truncated, "malformed", "not complete, valid JSON")
    truncated.write_bytes(raw[:-2])
    refused(truncated, "malformed", "truncated or damaged")
    truncated.write_bytes(b"\xff\xfe" + raw)
    refused(truncated, "malformed", "not UTF-8")
    truncated.write_bytes(b"")
    refused(truncated, "malformed", "not complete")
    with pytest.raises(CommandError, match="Cannot read"):
        verify(tmp_path / "missing.json")


def test_extra_missing_or_repeated_fields_are_refused(exported: dict[str, Any], tmp_path: Path) -> None:
    document = exported["document"]
    refused(write(tmp_path, {**document, "verified": True}), "malformed", "verified: Extra inputs are not permitted")
    block = {**document["signature"], "note": "trust me"}
    refused(write(tmp_path, {**document, "signature": block}), "malformed", "signature.note: Extra inputs")
    content = json.loads(json.dumps(document["content"]))
    content["entries"][0]["hidden"] = "x"
    refused(write(tmp_path, {**document, "content": content}), "malformed", "content.entries.0.hidden")
    missing = {k: v for k, v in document.items() if k != "signature"}
    refused(write(tmp_path, missing), "malformed", "signature: Field required")
    refused(write(tmp_path, [document]), "malformed", "Not a signed transcript export")
    refused(write(tmp_path, {**document, "sha256": "abc"}), "malformed", "sha256")
    naive = {**document, "signature": {**document["signature"], "signed_at": "2026-01-01T10:00:00"}}
    refused(write(tmp_path, naive), "malformed", "no time zone")
    repeated = tmp_path / "repeated.json"
    text = exported["path"].read_text(encoding="utf-8")
    repeated.write_text(text.replace('"snapshot":', '"sha256": "00", "snapshot":', 1), encoding="utf-8")
    refused(repeated, "malformed", "'sha256' appears twice")
    legacy = {"sha256": document["sha256"], "content": document["content"]}
    refused(write(tmp_path, legacy), "malformed", "unsigned export from an earlier version")


def test_the_database_check_finds_a_missing_or_changed_snapshot(exported: dict[str, Any]) -> None:
    snapshot = exported["snapshot"]
    TranscriptSnapshot.objects.filter(pk=snapshot.pk).update(content={**snapshot.content, "entries": []})
    refused(exported["path"], "differs_from_database", "different stored content")
    TranscriptSnapshot.objects.filter(pk=snapshot.pk).delete()  # the row, below the model's guard
    refused(exported["path"], "not_in_database", f"no snapshot {snapshot.pk}")


def test_offline_with_a_keys_file_or_url(exported: dict[str, Any], tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    call_command("signing_key", "export", str(keys), stdout=StringIO())
    report = verify(exported["path"], "--keys", str(keys), "--offline")
    assert "OK" in report and "database not consulted" in report
    body = keys.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/keys.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert "OK" in verify(exported["path"], "--keys", f"{url}/keys.json", "--offline")
        with pytest.raises(CommandError, match="Cannot fetch the published keys"):
            verify(exported["path"], "--keys", f"{url}/nothing", "--offline")
    finally:
        server.shutdown()
        server.server_close()
    # A key set without the signing key: unknown; a damaged key set: refused before anything else.
    published = json.loads(body)
    write(tmp_path, {**published, "keys": []}, "empty-keys.json")
    refused(
        exported["path"],
        "unknown_key",
        "not among the published keys",
        "--keys",
        str(tmp_path / "empty-keys.json"),
        "--offline",
    )
    write(tmp_path, {"format": "x"}, "bad-keys.json")
    with pytest.raises(CommandError, match="cannot be used"):
        verify(exported["path"], "--keys", str(tmp_path / "bad-keys.json"), "--offline")
    with pytest.raises(CommandError, match="--offline needs --keys"):
        verify(exported["path"], "--offline")


def test_keys_are_published_without_sign_in() -> None:
    key = signing.current_key()
    response = Client().get("/.well-known/transcript-signing-keys.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    keys = response.json()["keys"]
    assert [k["key_id"] for k in keys] == [key.key_id] and keys[0]["current"]
    assert "PRIVATE" not in response.content.decode()
    assert Client().post("/.well-known/transcript-signing-keys.json").status_code == 405


def test_an_earlier_unsigned_snapshot_is_signed_on_its_first_export(exported: dict[str, Any], tmp_path: Path) -> None:
    old = exported["snapshot"]
    legacy = TranscriptSnapshot.objects.create(
        case=old.case, conversation=old.conversation, content=old.content, sha256=old.sha256, created_by=old.created_by
    )
    assert legacy.signature == ""
    path = tmp_path / "legacy.json"
    path.write_bytes(snapshots.snapshot_json(legacy))
    assert "OK" in verify(path)
    legacy.refresh_from_db()
    signed_once = legacy.signature
    assert signed_once and snapshots.snapshot_json(legacy) == path.read_bytes()
    # Another export that read the snapshot while it was still unsigned finds it signed.
    stale = TranscriptSnapshot.objects.get(pk=legacy.pk)
    stale.key_id, stale.signature, stale.signed_at = "", "", None
    assert transcripts.snapshot_sign(snapshot=stale).signature == signed_once
    with pytest.raises(ImmutableError):
        legacy.signature = "x"
        legacy.save(update_fields=list(TranscriptSnapshot.SIGNATURE_FIELDS))


def test_a_server_without_a_key_makes_no_unsigned_snapshot(people: dict[str, Any], settings: Any) -> None:
    settings.SIGNING_KEY_AUTOCREATE = False
    advisor = people["advisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    with pytest.raises(signing.SigningUnavailable, match="signing_key generate"):
        snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    assert not TranscriptSnapshot.objects.exists()
    assert not AuditEvent.objects.filter(action="snapshot.create").exists()


def test_the_signing_key_command(tmp_path: Path) -> None:
    out = StringIO()
    call_command("signing_key", "generate", stdout=out)
    first = signing.current_key().key_id
    assert first in out.getvalue()
    with pytest.raises(CommandError, match="rotate"):
        call_command("signing_key", "generate", stdout=StringIO())
    call_command("signing_key", "rotate", stdout=out)
    assert f"{first} is retired" in out.getvalue()
    with pytest.raises(CommandError, match="needs a time zone"):
        call_command("signing_key", "revoke", first, "--from", "2026-01-01T00:00:00", "--reason", "x")
    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("signing_key", "revoke", first, "--from", "soon", "--reason", "x")
    with pytest.raises(CommandError, match="no signing key nope"):
        call_command("signing_key", "revoke", "nope", "--from", "now", "--reason", "x")
    call_command(
        "signing_key", "revoke", first, "--from", "2026-01-01T00:00:00+00:00", "--reason", "leaked", stdout=out
    )
    listing = StringIO()
    call_command("signing_key", "list", stdout=listing)
    assert "revoked from 2026-01-01T00:00:00+00:00 (leaked)" in listing.getvalue()
    assert "current" in listing.getvalue()


def test_snapshots_signed_with_a_revoked_key_are_signed_again(exported: dict[str, Any], tmp_path: Path) -> None:
    snapshot = exported["snapshot"]
    with pytest.raises(ValueError, match="valid signature"):
        transcripts.snapshot_resign(snapshot=snapshot)
    call_command(
        "signing_key",
        "revoke",
        snapshot.key_id,
        "--from",
        snapshot.signed_at.isoformat(),
        "--reason",
        "leaked",
        stdout=StringIO(),
    )
    refused(exported["path"], "revoked_key", "REVOKED KEY")
    out = StringIO()
    call_command("signing_key", "resign", stdout=out)
    assert "1 snapshot(s) signed again" in out.getvalue()
    snapshot.refresh_from_db()
    assert snapshot.key_id == signing.current_key().key_id and snapshot.pdf is None
    again = tmp_path / "again.json"
    again.write_bytes(snapshots.snapshot_json(snapshot))
    assert "OK" in verify(again)
    refused(exported["path"], "revoked_key", "REVOKED KEY")  # the earlier file stays refused
    # A second run finds nothing more to do; a valid signature is never replaced.
    call_command("signing_key", "resign", stdout=out)
    assert "0 snapshot(s) signed again" in out.getvalue()
    snapshot.signature = "x"
    with pytest.raises(ImmutableError):
        snapshot.save(update_fields=list(TranscriptSnapshot.SIGNATURE_FIELDS))


def test_the_documented_check_without_the_product_works(exported: dict[str, Any], tmp_path: Path) -> None:
    import subprocess
    import sys

    docs = (Path(__file__).resolve().parents[1] / "docs" / "transcripts.md").read_text(encoding="utf-8")
    script = tmp_path / "check.py"
    script.write_text(docs.split("```python\n", 1)[1].split("```", 1)[0], encoding="utf-8")
    keys = tmp_path / "keys.json"
    call_command("signing_key", "export", str(keys), stdout=StringIO())

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), str(path), str(keys)], capture_output=True, text=True, check=False
        )

    result = run(exported["path"])
    assert result.returncode == 0 and "signature valid" in result.stdout, result.stderr
    document = exported["document"]
    document["content"]["entries"][0]["text"] += "!"
    document["sha256"] = seal(document["content"])
    result = run(write(tmp_path, document))
    assert result.returncode != 0 and "InvalidSignature" in result.stderr
