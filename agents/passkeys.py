"""Passkeys (WebAuthn) as a second factor beside the authenticator app: a verified staff member
adds or removes their own on the passkeys page, and uses one on the two-factor page instead of a
code. The ceremonies themselves are django-otp-webauthn's endpoints under /accounts/webauthn/.
A passkey never signs anyone in alone: the password comes first (see `OTP_WEBAUTHN_*` settings).
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp_webauthn.models import WebAuthnCredential

from agents.views import staff_required

IN_USE = "This passkey verified the sign-in you are using now; sign in another way to remove it."


def relying_party_id(request: HttpRequest) -> str:
    """The passkeys' domain: `OTP_WEBAUTHN_RP_ID` when set, else the host this page was asked for
    (already checked against ALLOWED_HOSTS; the browser's origin is checked against the console's
    allowed origins as well)."""
    return settings.PASSKEY_RP_ID or request.get_host().rsplit(":", 1)[0].strip("[]")


def label(passkey: WebAuthnCredential) -> str:
    """What the staff member sees: the passkey's name, else which one it is by when it was added."""
    return passkey.name or f"Passkey added {timezone.localtime(passkey.created_at):%-d %b %Y %H:%M}"


def user_passkeys(user: Any) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at"))


@staff_required()
def passkeys_page(request: HttpRequest) -> HttpResponse:
    in_use = request.session.get(DEVICE_ID_SESSION_KEY)
    rows = [{"passkey": p, "label": label(p), "in_use": p.persistent_id == in_use} for p in user_passkeys(request.user)]
    return render(request, "registration/passkeys.html", {"profile": request.staff, "rows": rows})  # type: ignore[attr-defined]


@require_POST
@staff_required()
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    passkey = WebAuthnCredential.objects.filter(pk=passkey_id, user=request.user).first()
    if passkey is None:
        raise Http404("No such passkey of yours.")
    if passkey.persistent_id == request.session.get(DEVICE_ID_SESSION_KEY):
        messages.error(request, IN_USE)
        return redirect("passkeys")
    passkey.delete()
    messages.success(request, f"Removed the passkey “{label(passkey)}”.")
    return redirect("passkeys")
