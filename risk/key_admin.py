"""The signing keys in the administration: read-only. Keys are made, rotated and revoked with
`manage.py signing_key` by whoever runs the server; the private halves are never shown here."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from risk import signing
from risk.key_models import SigningKey

FIELDS = [
    "key_id",
    "algorithm",
    "public_key",
    "created_at",
    "is_current",
    "retired_at",
    "revoked_from",
    "revoked_reason",
    "revoked_at",
    "certificate_sha256",
    "pdf_certificate",
]


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ["key_id", "created_at", "is_current", "retired_at", "revoked_from"]
    list_filter = ["is_current"]
    fields = tuple(FIELDS)
    readonly_fields = tuple(FIELDS)

    @admin.display(description="PDF certificate SHA-256")
    def certificate_sha256(self, obj: SigningKey) -> str:
        return signing.certificate_fingerprint(obj.pdf_certificate)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
