"""The PDF export is signed as a PDF (PAdES): pyHanko's validator accepts it, and any change to
it, in place or appended, is detected."""

import json
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.core.management.base import CommandError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from risk import pdf_signing, services, signing, snapshots, transcript_pdf, transcripts
from risk.models import TranscriptSnapshot
from tests.factories import chat_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_pdf(people: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    advisor = people["advisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    from risk.tasks import snapshot_pdf

    snapshot_pdf.apply(args=(str(snapshot.pk),))
    stored = TranscriptSnapshot.objects.get(pk=snapshot.pk).pdf
    assert stored is not None
    pdf = bytes(stored)
    path = tmp_path / "transcript.pdf"
    path.write_bytes(pdf)
    return {"snapshot": snapshot, "pdf": pdf, "path": path}


def trust_root(key: signing.SigningKey) -> asn1_x509.Certificate:
    pem = x509.load_pem_x509_certificate(key.pdf_certificate.encode())
    return asn1_x509.Certificate.load(pem.public_bytes(serialization.Encoding.DER))


def validate(pdf: bytes, key: signing.SigningKey) -> Any:
    reader = PdfFileReader(BytesIO(pdf))
    (embedded,) = reader.embedded_signatures
    return validate_pdf_signature(embedded, ValidationContext(trust_roots=[trust_root(key)]))


def verify(path: Path, *options: str) -> str:
    out = StringIO()
    call_command("verify_transcript", str(path), *options, stdout=out)
    return out.getvalue()


def refused(path: Path, code: str, match: str, *options: str) -> None:
    with pytest.raises(CommandError, match=match) as failure:
        verify(path, *options)
    assert failure.value.returncode == transcripts.Refused.EXIT_CODES[code], str(failure.value)


def test_the_pdf_is_signed_and_validates(signed_pdf: dict[str, Any], tmp_path: Path) -> None:
    snapshot, pdf = signed_pdf["snapshot"], signed_pdf["pdf"]
    key = signing.current_key()
    status = validate(pdf, key)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE and status.docmdp_ok
    # The signature names the same content hash as the JSON export, and so does the page.
    (embedded,) = PdfFileReader(BytesIO(pdf)).embedded_signatures
    reason = str(embedded.sig_object["/Reason"])
    document = json.loads(snapshots.snapshot_json(snapshot))
    assert reason.endswith(f"snapshot {snapshot.pk}, content SHA-256 {document['sha256']}")
    text = "".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages).split())
    assert document["sha256"] in text and key.key_id in text
    assert "He said he would kill me" in " ".join(PdfReader(BytesIO(pdf)).pages[0].extract_text().split())
    report = verify(signed_pdf["path"])
    assert "OK: PDF transcript" in report and document["sha256"] in report and "holds it unchanged" in report
    keys = tmp_path / "keys.json"
    call_command("signing_key", "export", str(keys), stdout=StringIO())
    assert "database not consulted" in verify(signed_pdf["path"], "--keys", str(keys), "--offline")


def test_a_changed_byte_is_detected(signed_pdf: dict[str, Any], tmp_path: Path) -> None:
    pdf = signed_pdf["pdf"]
    sha256 = signed_pdf["snapshot"].sha256
    # Claim another content hash in the signature's reason: inside the signed bytes.
    forged = pdf.replace(sha256.encode(), sha256[:-1].encode() + (b"0" if sha256[-1] != "0" else b"1"))
    assert forged != pdf and len(forged) == len(pdf)
    status = validate(forged, signing.current_key())
    assert not status.intact and not status.bottom_line
    path = tmp_path / "forged.pdf"
    path.write_bytes(forged)
    refused(path, "content", "CONTENT CHANGED: the PDF's signed bytes were altered")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(pdf[: len(pdf) // 2])
    with pytest.raises(CommandError) as failure:
        verify(truncated)
    assert failure.value.returncode in (2, 3)


def test_an_appended_change_is_detected(signed_pdf: dict[str, Any], tmp_path: Path) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf["pdf"]))
    info = writer.root
    info["/PageLabels"] = generic.DictionaryObject({generic.NameObject("/Nums"): generic.ArrayObject()})
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    changed = out.getvalue()
    status = validate(changed, signing.current_key())
    assert status.intact  # the signed revision itself is untouched ...
    assert status.coverage != SignatureCoverageLevel.ENTIRE_FILE and not status.bottom_line  # ... but more follows
    path = tmp_path / "appended.pdf"
    path.write_bytes(changed)
    refused(path, "content", "added to the PDF after it was signed")


def test_a_pdf_signed_by_an_unpublished_or_revoked_key_is_refused(
    signed_pdf: dict[str, Any],
    tmp_path: Path,
    people: dict[str, Any],
) -> None:
    keys = tmp_path / "keys.json"
    call_command("signing_key", "export", str(keys), stdout=StringIO())
    other = signing.key_generate(make_current=False)
    from weasyprint import HTML

    lookalike = HTML(string="<h1>Chat transcript</h1><p>Nothing happened.</p>").write_pdf()
    assert lookalike is not None
    path = tmp_path / "other.pdf"
    path.write_bytes(
        pdf_signing.sign_pdf(lookalike, key=other, snapshot_id=str(signed_pdf["snapshot"].pk), sha256="0" * 64)
    )
    refused(path, "unknown_key", "not published", "--keys", str(keys), "--offline")
    # The database knows the key, but not this content for the snapshot.
    refused(path, "differs_from_database", "stored differently")
    snapshot = signed_pdf["snapshot"]
    key = signing.SigningKey.objects.get(key_id=snapshot.key_id)
    signing.key_revoke(key_id=key.key_id, revoked_from=snapshot.signed_at, reason="laptop stolen")
    refused(signed_pdf["path"], "revoked_key", "REVOKED KEY.*laptop stolen")
    # Signed again with a new key, the PDF is rendered and signed again, and verifies.
    call_command("signing_key", "rotate", stdout=StringIO())
    call_command("signing_key", "resign", stdout=StringIO())
    fresh = tmp_path / "fresh.pdf"
    fresh.write_bytes(transcript_pdf.snapshot_pdf(snapshot_id=snapshot.pk))
    assert f"by key {signing.current_key().key_id}" in verify(fresh)
