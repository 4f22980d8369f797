"""Signed transcript exports: what is signed, the JSON a recipient gets, and how it is checked.

The signature (Ed25519, risk.signing) covers a statement naming the snapshot, its content's
SHA-256 (agents.canonical.seal) and when it was sealed and signed. The export carries that statement's
fields, the content, the key id and the signature; nothing else is accepted in it. A verifier
recomputes the hash from the content, rebuilds the statement and checks the signature with the
published key; with the database at hand it also checks that the snapshot exists unchanged.
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from agents.canonical import canonical, seal
from risk import signing
from risk.models import TranscriptSnapshot
from risk.transcript_schemas import CONTENT_FORMAT, EXPORT_FORMAT, Export

SIGNATURE_FORMAT = "helpline-transcript-signature/1"

log = logging.getLogger(__name__)


def statement(*, snapshot_id: str, sha256: str, sealed_at: str, signed_at: str) -> bytes:
    """The bytes the transcript signature is made over."""
    return canonical(
        {
            "format": SIGNATURE_FORMAT,
            "snapshot": snapshot_id,
            "sha256": sha256,
            "sealed_at": sealed_at,
            "signed_at": signed_at,
        }
    )


def signature_revoked(snapshot: TranscriptSnapshot) -> bool:
    """Was the snapshot signed with a key that was revoked by then?"""
    if not snapshot.signature or snapshot.signed_at is None:
        return False
    key = signing.SigningKey.objects.filter(key_id=snapshot.key_id).first()
    return bool(key and key.revoked_from and snapshot.signed_at >= key.revoked_from)


def snapshot_sign(*, snapshot: TranscriptSnapshot) -> TranscriptSnapshot:
    """Sign a snapshot with the current key, once: a signed snapshot is returned as it is (two
    exports of an unsigned one at the same moment: the second waits and finds it signed)."""
    if snapshot.signature:
        return snapshot
    with transaction.atomic():
        locked = TranscriptSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if locked.signature:
            return locked
        return _sign(locked)


def _sign(snapshot: TranscriptSnapshot) -> TranscriptSnapshot:
    signed_at = timezone.now()
    signed = signing.sign_bytes(
        statement(
            snapshot_id=str(snapshot.pk),
            sha256=snapshot.sha256,
            sealed_at=snapshot.created_at.isoformat(),
            signed_at=signed_at.isoformat(),
        )
    )
    snapshot.key_id, snapshot.signature, snapshot.signed_at = signed.key_id, signed.signature, signed_at
    snapshot.save(update_fields=list(TranscriptSnapshot.SIGNATURE_FIELDS))
    return snapshot


def snapshot_resign(*, snapshot: TranscriptSnapshot) -> TranscriptSnapshot:
    """Sign again, with the current key, a snapshot whose signature was made with a key revoked by
    then, and drop its PDF so that the next export renders and signs it again. The content and
    its hash are the stored ones: they never change."""
    if not signature_revoked(snapshot):
        raise ValueError(f"snapshot {snapshot.pk} has a valid signature; it is never signed again")
    old_key = snapshot.key_id
    signed_at = timezone.now()
    signed = signing.sign_bytes(
        statement(
            snapshot_id=str(snapshot.pk),
            sha256=snapshot.sha256,
            sealed_at=snapshot.created_at.isoformat(),
            signed_at=signed_at.isoformat(),
        )
    )
    snapshot.key_id, snapshot.signature, snapshot.signed_at = signed.key_id, signed.signature, signed_at
    snapshot.pdf = None
    snapshot.save(update_fields=[*TranscriptSnapshot.SIGNATURE_FIELDS, "pdf"])
    log.warning(
        "snapshot %s signed again with %s (its signature by %s was revoked)", snapshot.pk, signed.key_id, old_key
    )
    return snapshot


def export_document(snapshot: TranscriptSnapshot) -> dict[str, Any]:
    snapshot = snapshot_sign(snapshot=snapshot)
    assert snapshot.signed_at is not None
    return {
        "format": EXPORT_FORMAT,
        "snapshot": str(snapshot.pk),
        "sealed_at": snapshot.created_at.isoformat(),
        "sha256": snapshot.sha256,
        "signature": {
            "algorithm": signing.ALGORITHM,
            "key_id": snapshot.key_id,
            "signed_at": snapshot.signed_at.isoformat(),
            "value": snapshot.signature,
        },
        "content": snapshot.content,
    }


def export_json(snapshot: TranscriptSnapshot) -> bytes:
    return json.dumps(export_document(snapshot), ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


# --- Verifying an export ----------------------------------------------------------------------


class Refused(Exception):
    """Why a transcript file is not accepted. `code` names what failed; `exit_code` is the
    verify_transcript command's exit status for it."""

    EXIT_CODES = {
        "malformed": 2,
        "content": 3,
        "unknown_key": 4,
        "revoked_key": 5,
        "bad_signature": 6,
        "not_in_database": 7,
        "differs_from_database": 8,
    }

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = self.EXIT_CODES[code]


@dataclass(frozen=True)
class Verified:
    export: Export
    key_id: str
    signed_at: datetime
    database_checked: bool


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the field {key!r} appears twice")
        seen[key] = value
    return seen


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def parse_export(raw: bytes) -> tuple[dict[str, Any], Export]:
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise Refused("malformed", "The file is not UTF-8 text: not a transcript export.") from None
    except ValueError as exc:
        raise Refused("malformed", f"The file is not complete, valid JSON ({exc}): truncated or damaged.") from None
    if isinstance(document, dict) and "sha256" in document and "signature" not in document and "format" not in document:
        raise Refused("malformed", "This is an unsigned export from an earlier version: export the transcript again.")
    try:
        export = Export.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error["loc"]) or "the file"
            problems.append(f"{where}: {error['msg']}")
        raise Refused("malformed", "Not a signed transcript export: " + "; ".join(problems) + ".") from None
    return document, export


def _aware(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Refused("malformed", f"{field} is not a date and time: {value!r}.") from None
    if timezone.is_naive(parsed):
        raise Refused("malformed", f"{field} has no time zone: {value!r}.")
    return parsed


def verify_export(
    raw: bytes, *, keys: Mapping[str, signing.PublicKey] | None = None, database: bool = True
) -> Verified:
    """Check an exported transcript; raise Refused naming the first thing that fails.
    `keys` is a published key set (offline); None uses this server's database."""
    document, export = parse_export(raw)
    assert export.content.format == CONTENT_FORMAT
    actual = seal(document["content"])
    if actual != export.sha256:
        raise Refused(
            "content",
            f"CONTENT CHANGED: the transcript in the file hashes to {actual}, but the file says {export.sha256}.",
        )
    block = export.signature
    signed_at = _aware(block.signed_at, "signature.signed_at")
    _aware(export.sealed_at, "sealed_at")
    data = statement(
        snapshot_id=export.snapshot, sha256=export.sha256, sealed_at=export.sealed_at, signed_at=block.signed_at
    )
    try:
        if keys is None:
            signing.verify_bytes(data, key_id=block.key_id, signature=block.value, signed_at=signed_at)
        else:
            signing.verify_with(keys, data, key_id=block.key_id, signature=block.value, signed_at=signed_at)
    except signing.UnknownKey as exc:
        raise Refused("unknown_key", f"UNKNOWN KEY: {exc.message}") from None
    except signing.RevokedKey as exc:
        raise Refused("revoked_key", f"REVOKED KEY: {exc.message}") from None
    except signing.BadSignature as exc:
        raise Refused(
            "bad_signature",
            f"SIGNATURE INVALID: {exc.message} The snapshot id, hash or times in the file are not the ones "
            "the key signed (changed after signing, a recomputed hash, or another key's signature).",
        ) from None
    if database:
        _check_database(export)
    return Verified(export=export, key_id=block.key_id, signed_at=signed_at, database_checked=database)


def _check_database(export: Export) -> None:
    stored = TranscriptSnapshot.objects.filter(pk=export.snapshot).first() if _is_uuid(export.snapshot) else None
    if stored is None:
        raise Refused("not_in_database", f"NOT IN DATABASE: no snapshot {export.snapshot} is stored here.")
    differences = [
        name
        for name, ours, theirs in (
            ("content hash", stored.sha256, export.sha256),
            ("stored content", seal(stored.content), export.sha256),
            ("key id", stored.key_id, export.signature.key_id),
            ("signature", stored.signature, export.signature.value),
            ("signing time", stored.signed_at.isoformat() if stored.signed_at else "", export.signature.signed_at),
            ("sealing time", stored.created_at.isoformat(), export.sealed_at),
        )
        if ours != theirs
    ]
    if differences:
        raise Refused(
            "differs_from_database",
            f"DIFFERS FROM DATABASE: snapshot {export.snapshot} is stored with a different "
            + ", ".join(differences)
            + ".",
        )


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
