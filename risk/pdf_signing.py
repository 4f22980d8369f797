"""PDF transcripts signed as PDFs (PAdES baseline B, a certification signature that allows no
later change), so a PDF reader shows whether the file was changed since it was signed.

PDF readers do not check Ed25519, so each signing key record carries a self-signed X.509
certificate over an ECDSA P-256 key (risk.signing); its private half sits beside the Ed25519 one
in the key file. The signature's reason names the snapshot and the same content SHA-256 as the
JSON export."""

import re
from collections.abc import Mapping
from io import BytesIO

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from risk import signing
from risk.key_models import SigningKey
from risk.models import TranscriptSnapshot
from risk.transcripts import Refused

REASON = "Chat transcript snapshot {snapshot}, content SHA-256 {sha256}"
REASON_PATTERN = re.compile(r"snapshot ([0-9a-f-]{36}), content SHA-256 ([0-9a-f]{64})$")


def sign_pdf(pdf: bytes, *, key: SigningKey, snapshot_id: str, sha256: str) -> bytes:
    """Certify `pdf` with the key's PDF certificate; nothing may change it afterwards."""
    private = signing.private_keys(key.key_id).pdf
    certificate = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(key.pdf_certificate.encode("ascii")).public_bytes(serialization.Encoding.DER)
    )
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=asn1_keys.PrivateKeyInfo.load(
            private.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name="TranscriptSeal",
        md_algorithm="sha256",
        reason=REASON.format(snapshot=snapshot_id, sha256=sha256),
        name=f"Transcript signing key {key.key_id}",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    out = BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=signer, output=out)
    return out.getvalue()


def _fingerprint(certificate: asn1_x509.Certificate) -> str:
    return x509.load_der_x509_certificate(certificate.dump()).fingerprint(hashes.SHA256()).hex()


def _pdf_keys(keys: Mapping[str, signing.PublicKey] | None) -> dict[str, tuple[str, signing.PublicKey]]:
    """Certificate fingerprint -> (certificate PEM, key) for every known key."""
    if keys is None:
        keys = {k.key_id: signing.public_key_of(k) for k in SigningKey.objects.all()}
    return {
        signing.certificate_fingerprint(k.pdf_certificate): (k.pdf_certificate, k)
        for k in keys.values()
        if k.pdf_certificate
    }


def verify_pdf(raw: bytes, *, keys: Mapping[str, signing.PublicKey] | None = None, database: bool = True) -> str:
    """Check a signed PDF export; raise Refused naming what failed, or return the report."""
    try:
        reader = PdfFileReader(BytesIO(raw), strict=False)
        embedded = reader.embedded_signatures
    except Exception as exc:  # pyHanko raises many kinds for a damaged file
        raise Refused("malformed", f"The PDF cannot be read ({exc}): truncated or damaged.") from None
    if len(embedded) != 1:
        raise Refused("malformed", f"The PDF carries {len(embedded)} signatures; a transcript export has one.")
    sig = embedded[0]
    certificate = sig.signer_cert
    known = _pdf_keys(keys).get(_fingerprint(certificate))
    if known is None:
        raise Refused("unknown_key", "UNKNOWN KEY: the PDF is signed with a certificate that is not published here.")
    pem, key = known
    trust = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(serialization.Encoding.DER)
    )
    try:
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[trust]))
    except Exception as exc:
        raise Refused("bad_signature", f"SIGNATURE INVALID: the PDF signature cannot be validated ({exc}).") from None
    if not status.intact or not status.valid:
        raise Refused("content", "CONTENT CHANGED: the PDF's signed bytes were altered after it was signed.")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE or not status.docmdp_ok:
        raise Refused("content", "CONTENT CHANGED: something was added to the PDF after it was signed.")
    signed_at = status.signer_reported_dt
    # The PDF's signing time has whole seconds: within the second of the revocation counts as after.
    if key.revoked_from is not None and (signed_at is None or signed_at >= key.revoked_from.replace(microsecond=0)):
        raise Refused(
            "revoked_key",
            f"REVOKED KEY: the signing key {key.key_id} is revoked from {key.revoked_from.isoformat()} "
            f"(reason: {key.revoked_reason or 'not given'}).",
        )
    reason = str(sig.sig_object.get("/Reason", ""))
    match = REASON_PATTERN.search(reason)
    if match is None:
        raise Refused("malformed", f"The PDF signature does not name a transcript snapshot (reason: {reason!r}).")
    snapshot_id, sha256 = match.groups()
    where = "database not consulted"
    if database:
        stored = TranscriptSnapshot.objects.filter(pk=snapshot_id).first()
        if stored is None:
            raise Refused("not_in_database", f"NOT IN DATABASE: no snapshot {snapshot_id} is stored here.")
        if stored.sha256 != sha256 or (stored.pdf and bytes(stored.pdf) != raw):
            raise Refused(
                "differs_from_database", f"DIFFERS FROM DATABASE: snapshot {snapshot_id} is stored differently."
            )
        where = "this server's database holds it unchanged"
    when = signed_at.isoformat() if signed_at else "at an unknown time"
    return (
        f"OK: PDF transcript, snapshot {snapshot_id}\n"
        f"  content SHA-256 {sha256} (as in the JSON export)\n"
        f"  signed {when} by key {key.key_id} (PDF signature valid, file unchanged since)\n"
        f"  {where}"
    )
