"""Signing with the server's keys, and checking signatures.

`sign_bytes` signs with the current key (Ed25519); `verify_bytes` checks a signature against
the keys in the database, `verify_with` against a published key set (offline, e.g. a keys file a
recipient was given). A key stays valid for what it signed before it was revoked.

Private keys: one PEM file per key, named `<key_id>.pem`, in settings.SIGNING_KEY_DIR (mode 0600,
directory 0700). Production requires the directory to be configured and never makes keys on its
own: an operator runs `manage.py signing_key generate`. The embedded profile (settings
SIGNING_KEY_AUTOCREATE) makes the first key on first use.
"""

import base64
import binascii
import hashlib
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError

from risk.key_models import SigningKey
from risk.signing_schemas import KeySet

log = logging.getLogger(__name__)

ALGORITHM = "Ed25519"
KEYS_FORMAT = "helpline-signing-keys/1"
CERTIFICATE_YEARS = 30
CLOCK_SKEW = timedelta(minutes=5)  # between the servers that share the keys
KEY_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,39}")


# --- Errors -----------------------------------------------------------------------------------


class SignatureError(Exception):
    """A signature that is not accepted; `code` is stable, the message says why."""

    code = "signature"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownKey(SignatureError):
    code = "unknown_key"


class RevokedKey(SignatureError):
    code = "revoked_key"


class BadSignature(SignatureError):
    code = "bad_signature"


class SigningUnavailable(RuntimeError):
    """The server cannot sign: no key, or its private half is missing. Never silently skipped."""


# --- Values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    key_id: str
    signature: str  # base64 of the raw 64-byte Ed25519 signature


@dataclass(frozen=True)
class PublicKey:
    """What a verifier needs of one key, from the database or a published key set."""

    key_id: str
    public_key: Ed25519PublicKey
    created_at: datetime
    revoked_from: datetime | None = None
    revoked_reason: str = ""
    pdf_certificate: str = ""  # PEM; checks PDF signatures


@dataclass(frozen=True)
class PrivateKeys:
    ed25519: Ed25519PrivateKey
    pdf: ec.EllipticCurvePrivateKey


# --- Private keys on disk ---------------------------------------------------------------------

_cache: dict[tuple[str, str], PrivateKeys] = {}
_lock = threading.Lock()


def key_dir() -> Path:
    configured = getattr(settings, "SIGNING_KEY_DIR", None)
    if not configured:
        raise SigningUnavailable("SIGNING_KEY_DIR is not configured: the server has no signing keys.")
    return Path(configured)


def key_file(key_id: str) -> Path:
    if not KEY_ID.fullmatch(key_id):
        raise SigningUnavailable(f"{key_id!r} is not a key id")
    return key_dir() / f"{key_id}.pem"


def _write_private(key_id: str, keys: PrivateKeys) -> Path:
    directory = key_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    pems = b"".join(
        k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        for k in (keys.ed25519, keys.pdf)
    )
    path = key_file(key_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pems)
    return path


def private_keys(key_id: str) -> PrivateKeys:
    """The private halves of a key, read from its file (cached per process)."""
    path = key_file(key_id)
    cache_key = (str(path), key_id)
    with _lock:
        if cache_key in _cache:
            return _cache[cache_key]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SigningUnavailable(f"The private key of {key_id} cannot be read from {path}: {exc.strerror}") from exc
    marker = b"-----BEGIN PRIVATE KEY-----"
    blocks = [marker + part for part in raw.split(marker)[1:]]
    try:
        ed, pdf = (serialization.load_pem_private_key(block, password=None) for block in blocks)
    except ValueError as exc:
        raise SigningUnavailable(f"{path} does not hold the two private keys of {key_id}") from exc
    if not isinstance(ed, Ed25519PrivateKey) or not isinstance(pdf, ec.EllipticCurvePrivateKey):
        raise SigningUnavailable(f"{path} does not hold an Ed25519 and an ECDSA key")
    keys = PrivateKeys(ed25519=ed, pdf=pdf)
    with _lock:
        _cache[cache_key] = keys
    return keys


# --- Key records ------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _certificate(key_id: str, pdf_key: ec.EllipticCurvePrivateKey, created: datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"Transcript signing key {key_id}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, getattr(settings, "SIGNING_ORGANISATION", "Helpline")),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pdf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(created - timedelta(minutes=5))
        .not_valid_after(created + timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pdf_key.public_key()), critical=False)
        .sign(pdf_key, hashes.SHA256())
    )


def key_generate(*, make_current: bool = True) -> SigningKey:
    """Make a new key pair: the private halves into the key directory, the public ones into the
    database. With make_current (a rotation), the new key signs from now on and the old one is
    retired: it stays valid for what it signed."""
    ed = Ed25519PrivateKey.generate()
    pdf = ec.generate_private_key(ec.SECP256R1())
    created = timezone.now()
    public = raw_public(ed.public_key())
    key_id = f"{created:%Y%m%d}-{hashlib.sha256(public).hexdigest()[:16]}"
    certificate = _certificate(key_id, pdf, created)
    path = _write_private(key_id, PrivateKeys(ed25519=ed, pdf=pdf))
    with transaction.atomic():
        if make_current:
            for old in SigningKey.objects.select_for_update().filter(is_current=True):
                old.is_current = False
                old.retired_at = created
                old.save(update_fields=["is_current", "retired_at"])
        key = SigningKey.objects.create(
            key_id=key_id,
            public_key=_b64(public),
            pdf_certificate=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            created_at=created,
            is_current=make_current,
        )
    log.info("signing key %s generated (private half in %s)%s", key_id, path, " and made current" * make_current)
    return key


def key_revoke(*, key_id: str, revoked_from: datetime, reason: str) -> SigningKey:
    """Refuse the key's signatures made from `revoked_from` on. A current key that is revoked
    stops signing at once; generate a new one."""
    if not reason.strip():
        raise ValueError("Give the reason the key is revoked.")
    if timezone.is_naive(revoked_from):
        raise ValueError("Give the revocation time with its time zone.")
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().filter(key_id=key_id).first()
        if key is None:
            raise UnknownKey(f"There is no signing key {key_id}.")
        if key.revoked_from is not None and key.revoked_from <= revoked_from:
            raise ValueError(f"Key {key_id} is already revoked from {key.revoked_from.isoformat()}.")
        key.revoked_from = revoked_from
        key.revoked_reason = reason.strip()
        key.revoked_at = timezone.now()
        fields = ["revoked_from", "revoked_reason", "revoked_at"]
        if key.is_current:
            key.is_current = False
            key.retired_at = key.retired_at or key.revoked_at
            fields += ["is_current", "retired_at"]
        key.save(update_fields=fields)
    log.warning("signing key %s revoked from %s: %s", key_id, revoked_from.isoformat(), reason)
    return key


def current_key() -> SigningKey:
    """The key new signatures are made with. The embedded profile makes one on first use;
    production refuses until an operator has generated one."""
    key = SigningKey.objects.filter(is_current=True).first()
    if key is not None:
        return key
    if not getattr(settings, "SIGNING_KEY_AUTOCREATE", False):
        raise SigningUnavailable("No current signing key: run `manage.py signing_key generate`.")
    try:
        return key_generate(make_current=True)
    except IntegrityError:  # another process made one at the same moment
        return SigningKey.objects.get(is_current=True)


# --- Signing and verifying --------------------------------------------------------------------


def sign_bytes(data: bytes) -> Signature:
    key = current_key()
    raw = private_keys(key.key_id).ed25519.sign(data)
    return Signature(key_id=key.key_id, signature=_b64(raw))


def public_key_of(key: SigningKey) -> PublicKey:
    return PublicKey(
        key_id=key.key_id,
        public_key=Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key)),
        created_at=key.created_at,
        revoked_from=key.revoked_from,
        revoked_reason=key.revoked_reason,
        pdf_certificate=key.pdf_certificate,
    )


def verify_with(
    keys: Mapping[str, PublicKey], data: bytes, *, key_id: str, signature: str, signed_at: datetime | None = None
) -> None:
    """Raise UnknownKey, RevokedKey or BadSignature unless `signature` is the key's over `data`.
    A revoked key is accepted only for signatures dated before its revocation; without a date it
    is refused."""
    key = keys.get(key_id)
    if key is None:
        raise UnknownKey(f"The signing key {key_id!r} is not among the published keys.")
    if key.revoked_from is not None and (signed_at is None or signed_at >= key.revoked_from):
        when = f"signed {signed_at.isoformat()}, " if signed_at else ""
        raise RevokedKey(
            f"The signing key {key_id} is revoked from {key.revoked_from.isoformat()} ({when}"
            f"reason: {key.revoked_reason or 'not given'})."
        )
    if signed_at is not None and signed_at < key.created_at - CLOCK_SKEW:
        raise BadSignature(
            f"The signature says it was made {signed_at.isoformat()}, before key {key_id} existed "
            f"({key.created_at.isoformat()})."
        )
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise BadSignature("The signature is not base64.") from None
    if len(raw) != 64:
        raise BadSignature(f"The signature is {len(raw)} bytes; an Ed25519 signature is 64.")
    try:
        key.public_key.verify(raw, data)
    except InvalidSignature:
        raise BadSignature(f"The signature does not match this data under key {key_id}.") from None


def verify_bytes(data: bytes, *, key_id: str, signature: str, signed_at: datetime | None = None) -> None:
    """verify_with the keys in this server's database."""
    record = SigningKey.objects.filter(key_id=key_id).first()
    keys = {key_id: public_key_of(record)} if record is not None else {}
    verify_with(keys, data, key_id=key_id, signature=signature, signed_at=signed_at)


# --- The published key set --------------------------------------------------------------------


def published_keys() -> dict[str, Any]:
    """Every key ever used, current or not: old signatures must stay checkable."""

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "format": KEYS_FORMAT,
        "keys": [
            {
                "key_id": k.key_id,
                "algorithm": k.algorithm,
                "public_key": k.public_key,
                "created_at": when(k.created_at),
                "current": k.is_current,
                "retired_at": when(k.retired_at),
                "revoked_from": when(k.revoked_from),
                "revoked_reason": k.revoked_reason,
                "pdf_certificate": k.pdf_certificate,
                "pdf_certificate_sha256": certificate_fingerprint(k.pdf_certificate),
            }
            for k in SigningKey.objects.order_by("created_at", "pk")
        ],
    }


def certificate_fingerprint(pem: str) -> str:
    certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    return certificate.fingerprint(hashes.SHA256()).hex()


def load_published(document: Any) -> dict[str, PublicKey]:
    """Read a published key set (the JSON of `published_keys`); ValueError says what is wrong."""
    try:
        keyset = KeySet.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the document"
        raise ValueError(f"Not a published key set: {where}: {first['msg']}") from None
    keys: dict[str, PublicKey] = {}
    for entry in keyset.keys:
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry.public_key, validate=True))
        except (binascii.Error, ValueError):
            raise ValueError(f"Key {entry.key_id}: the public key is not base64 of 32 bytes.") from None
        if entry.pdf_certificate:
            try:
                certificate_fingerprint(entry.pdf_certificate)
            except ValueError:
                raise ValueError(f"Key {entry.key_id}: the PDF certificate is not a PEM certificate.") from None
        keys[entry.key_id] = PublicKey(
            key_id=entry.key_id,
            public_key=public,
            created_at=entry.created_at,
            revoked_from=entry.revoked_from,
            revoked_reason=entry.revoked_reason,
            pdf_certificate=entry.pdf_certificate,
        )
    return keys
