"""The one canonical form that transcript seals and the audit chain's hashes are computed over:
text in Unicode NFC, keys sorted, no spaces, UTF-8. Two documents that read the same give the same
bytes, whichever way their text was composed."""

import hashlib
import json
import unicodedata
from typing import Any


def nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {k: nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc(v) for v in value]
    return value


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(nfc(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seal(content: dict[str, Any]) -> str:
    """A transcript snapshot's seal: the SHA-256 of its canonical form."""
    return hashlib.sha256(canonical(content)).hexdigest()
