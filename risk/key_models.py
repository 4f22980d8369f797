"""The server's signing keys: the public halves, published; the private halves never here.

Each key record holds an Ed25519 public key (transcript signatures, audit checkpoints) and a
self-signed X.509 certificate over an ECDSA P-256 key made with it (PDF signatures, which PDF
readers understand). The private halves of both live in one file per key in the key directory
(settings.SIGNING_KEY_DIR), outside the database and outside anything the web server serves.

A key record is never deleted and its key material never changes: only which key is current,
when it was retired, and whether (and from when) it is revoked."""

from typing import Any

from django.db import models
from django.utils import timezone


class KeyImmutable(Exception):
    pass


class SigningKey(models.Model):
    key_id = models.CharField(max_length=40, unique=True, editable=False)
    algorithm = models.CharField(max_length=20, default="Ed25519", editable=False)
    public_key = models.CharField(max_length=64, editable=False, help_text="Base64 of the raw 32-byte public key.")
    pdf_certificate = models.TextField(editable=False, help_text="PEM X.509 certificate (ECDSA P-256) for PDFs.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    is_current = models.BooleanField(default=False, help_text="New signatures are made with the current key.")
    retired_at = models.DateTimeField(null=True, blank=True, help_text="When another key replaced it.")
    revoked_from = models.DateTimeField(
        null=True, blank=True, help_text="Signatures made from this time on are refused (e.g. the key leaked)."
    )
    revoked_reason = models.TextField(blank=True, max_length=2000)
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="When the revocation was recorded.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=models.Q(is_current=True), name="one_current_key"),
        ]

    def __str__(self) -> str:
        return self.key_id

    MUTABLE = frozenset({"is_current", "retired_at", "revoked_from", "revoked_reason", "revoked_at"})

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and not set(kwargs.get("update_fields") or ["*"]) <= self.MUTABLE:
            raise KeyImmutable(f"signing key {self.key_id}: only its state and revocation ever change")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise KeyImmutable(f"signing key {self.key_id} is kept: what it signed must stay verifiable")
