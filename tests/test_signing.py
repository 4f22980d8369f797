"""The server's signing keys: signing, verifying, rotation, revocation, the published key set."""

import base64
import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from risk import signing
from risk.key_models import KeyImmutable, SigningKey

pytestmark = pytest.mark.django_db


def test_a_signature_verifies_and_names_its_key() -> None:
    signed = signing.sign_bytes(b"checkpoint 41 abc")
    key = SigningKey.objects.get(is_current=True)
    assert signed.key_id == key.key_id
    assert len(base64.b64decode(signed.signature)) == 64
    signing.verify_bytes(b"checkpoint 41 abc", key_id=signed.key_id, signature=signed.signature)
    with pytest.raises(signing.BadSignature, match="does not match"):
        signing.verify_bytes(b"checkpoint 41 abd", key_id=signed.key_id, signature=signed.signature)


def test_the_private_key_is_a_file_only_its_owner_reads(settings: Any) -> None:
    key = signing.current_key()
    path = Path(settings.SIGNING_KEY_DIR) / f"{key.key_id}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    text = path.read_text()
    assert text.count("BEGIN PRIVATE KEY") == 2
    # The database holds only public halves.
    assert "PRIVATE" not in json.dumps(signing.published_keys())


def test_bad_signatures_are_refused_each_with_its_reason() -> None:
    signed = signing.sign_bytes(b"data")
    with pytest.raises(signing.UnknownKey, match="not among the published keys"):
        signing.verify_bytes(b"data", key_id="20260101-0000000000000000", signature=signed.signature)
    with pytest.raises(signing.BadSignature, match="not base64"):
        signing.verify_bytes(b"data", key_id=signed.key_id, signature="@@not base64@@")
    with pytest.raises(signing.BadSignature, match="is 3 bytes"):
        signing.verify_bytes(b"data", key_id=signed.key_id, signature=base64.b64encode(b"abc").decode())
    with pytest.raises(signing.BadSignature, match="not base64"):
        signing.verify_bytes(b"data", key_id=signed.key_id, signature="ü")


def test_rotation_keeps_old_signatures_valid_and_signs_with_the_new_key() -> None:
    first = signing.sign_bytes(b"before")
    new = signing.key_generate(make_current=True)
    old = SigningKey.objects.get(key_id=first.key_id)
    assert not old.is_current and old.retired_at is not None
    second = signing.sign_bytes(b"after")
    assert second.key_id == new.key_id != first.key_id
    signing.verify_bytes(b"before", key_id=first.key_id, signature=first.signature)
    signing.verify_bytes(b"after", key_id=second.key_id, signature=second.signature)
    # A signature made by one key does not pass as another's.
    with pytest.raises(signing.BadSignature):
        signing.verify_bytes(b"before", key_id=second.key_id, signature=first.signature)


def test_a_revoked_key_is_refused_from_its_revocation_date_on() -> None:
    signed = signing.sign_bytes(b"data")
    before = timezone.now()
    signing.key_revoke(key_id=signed.key_id, revoked_from=before + timedelta(hours=1), reason="laptop stolen")
    # Signed before the revocation date: still valid.
    signing.verify_bytes(b"data", key_id=signed.key_id, signature=signed.signature, signed_at=before)
    with pytest.raises(signing.RevokedKey, match="laptop stolen"):
        signing.verify_bytes(b"data", key_id=signed.key_id, signature=signed.signature)
    with pytest.raises(signing.RevokedKey, match="revoked from"):
        signing.verify_bytes(
            b"data", key_id=signed.key_id, signature=signed.signature, signed_at=before + timedelta(hours=2)
        )
    # The revoked key no longer signs; the embedded profile makes a new one.
    assert signing.sign_bytes(b"x").key_id != signed.key_id
    with pytest.raises(ValueError, match="reason"):
        signing.key_revoke(key_id=signed.key_id, revoked_from=before, reason=" ")
    with pytest.raises(ValueError, match="already revoked"):
        signing.key_revoke(key_id=signed.key_id, revoked_from=before + timedelta(hours=3), reason="again")
    with pytest.raises(signing.UnknownKey):
        signing.key_revoke(key_id="nope", revoked_from=before, reason="x")


def test_production_never_makes_keys_on_its_own(settings: Any) -> None:
    settings.SIGNING_KEY_AUTOCREATE = False
    with pytest.raises(signing.SigningUnavailable, match="signing_key generate"):
        signing.sign_bytes(b"data")
    key = signing.key_generate()
    assert signing.sign_bytes(b"data").key_id == key.key_id


def test_a_missing_private_key_fails_loudly(settings: Any, tmp_path: Path) -> None:
    signing.current_key()
    settings.SIGNING_KEY_DIR = str(tmp_path / "elsewhere")
    with pytest.raises(signing.SigningUnavailable, match="cannot be read"):
        signing.sign_bytes(b"data")


def test_key_records_keep_their_key_material() -> None:
    key = signing.current_key()
    key.public_key = base64.b64encode(b"\0" * 32).decode()
    with pytest.raises(KeyImmutable):
        key.save()
    with pytest.raises(KeyImmutable):
        key.delete()


def test_the_published_key_set_verifies_offline() -> None:
    signed = signing.sign_bytes(b"data")
    published = json.loads(json.dumps(signing.published_keys()))
    keys = signing.load_published(published)
    signing.verify_with(keys, b"data", key_id=signed.key_id, signature=signed.signature)
    entry = published["keys"][0]
    assert entry["current"] and entry["pdf_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    with pytest.raises(ValueError, match="format"):
        signing.load_published({**published, "format": "other/1"})
    with pytest.raises(ValueError, match="32 bytes"):
        signing.load_published({**published, "keys": [{**entry, "public_key": "AAAA"}]})
    with pytest.raises(ValueError, match="created_at"):
        signing.load_published({**published, "keys": [{**entry, "created_at": "2026-01-01T00:00:00"}]})
    with pytest.raises(ValueError, match="Not a published key set"):
        signing.load_published([])


def test_deployment_checks_guard_the_key_directory(settings: Any, tmp_path: Path) -> None:
    from risk.checks import signing_key_dir

    settings.SIGNING_KEY_DIR = str(tmp_path / "missing")
    assert [e.id for e in signing_key_dir(None)] == ["risk.E001"]
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    settings.SIGNING_KEY_DIR = str(open_dir)
    assert [e.id for e in signing_key_dir(None)] == ["risk.E002"]
    open_dir.chmod(0o700)
    assert signing_key_dir(None) == []
    settings.STATIC_ROOT = str(tmp_path)
    assert [e.id for e in signing_key_dir(None)] == ["risk.E003"]


def test_production_refuses_to_start_without_a_key_directory() -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SIGNING_KEY_DIR")}
    env.update({"DJANGO_PRODUCTION": "1", "DJANGO_SECRET_KEY": "x" * 60, "DJANGO_ALLOWED_HOSTS": "chat.example.org"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SIGNING_KEY_DIR must be set in production" in result.stderr


def test_the_admin_lists_the_keys_read_only() -> None:
    from django.test import Client

    from tests import factories
    from tests.support.ws import verified_session_cookie

    key = signing.current_key()
    factories.queues()
    supervisor = factories.staff(role="supervisor", is_staff_user=True)
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(supervisor).split("=", 1)[1]
    listing = client.get("/admin/risk/signingkey/")
    assert listing.status_code == 200 and key.key_id in listing.content.decode()
    page = client.get(f"/admin/risk/signingkey/{key.pk}/change/").content.decode()
    assert signing.certificate_fingerprint(key.pdf_certificate) in page and key.public_key in page
    assert "PRIVATE KEY" not in page
    assert client.post(f"/admin/risk/signingkey/{key.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post("/admin/risk/signingkey/add/", {}).status_code == 403
    assert SigningKey.objects.filter(pk=key.pk).exists()
