"""Staff pages: sign-in's second step (TOTP enrolment or check), sign-out, the consoles (the
console's other pages are chat.staff_views, status, and risk.report_views, the reports)."""

import base64
from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from agents import auth
from agents.audit import record_refusal
from agents.models import StaffProfile
from agents.services import staff_sign_out

View = Callable[..., HttpResponse]


def staff_required(*, supervisor: bool = False) -> Callable[[View], View]:
    """Signed in, staff, verified with TOTP (else to the second step), and the right role."""

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        @never_cache
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            profile = StaffProfile.objects.filter(user=request.user).first()  # type: ignore[misc]
            if profile is None:
                _refused(request, "staff")
                return HttpResponseForbidden("This page is for helpline staff.")
            if not auth.session_verified(request.session, request.user):
                return redirect("two_factor")
            if supervisor and not profile.is_supervisor:
                _refused(request, "supervisor")
                return HttpResponseForbidden("This page is for supervisors.")
            request.staff = profile  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _refused(request: HttpRequest, needs: str) -> None:
    """A signed-in person refused a staff or supervisors' page goes into the audit trail."""
    match = request.resolver_match
    record_refusal(
        actor_id=request.user.pk,
        resource="page",
        attempt=(match.url_name or "page") if match else "page",
        reason=f"not_{needs}",
    )


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Six-digit code from your authenticator app",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}"}),
    )


@login_required
@never_cache
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device on first sign-in (QR code), then check a code on every sign-in."""
    if not StaffProfile.objects.filter(user=request.user).exists():  # type: ignore[misc]
        return HttpResponseForbidden("This page is for helpline staff.")
    device = TOTPDevice.objects.filter(user_id=request.user.pk, confirmed=True).first()
    enrolling = device is None
    if device is None:
        device = TOTPDevice.objects.filter(user_id=request.user.pk, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user_id=request.user.pk, name="Authenticator app", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _why = device.verify_is_allowed()
        if not allowed:
            # django-otp slows down guessing: each wrong code doubles the wait before the next.
            form.add_error("token", "Too many wrong codes. Wait a few seconds, then enter the current code.")
            return render(request, "registration/two_factor.html", _two_factor_context(form, device, enrolling))
        if device.verify_token(form.cleaned_data["token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            auth.touch(request.session)
            next_url = "supervisor_console" if request.user.staff.is_supervisor else "advisor_console"  # type: ignore[union-attr]
            return redirect(next_url)
        form.add_error("token", "That code is not right. Codes change every 30 seconds; try the current one.")
    return render(request, "registration/two_factor.html", _two_factor_context(form, device, enrolling))


def _two_factor_context(form: TokenForm, device: TOTPDevice, enrolling: bool) -> dict[str, Any]:
    context: dict[str, Any] = {"form": form, "enrolling": enrolling}
    if not enrolling:
        context["has_passkey"] = WebAuthnCredential.objects.filter(user_id=device.user_id, confirmed=True).exists()
    if enrolling:
        qr = segno.make(device.config_url, error="m")
        context["qr_svg"] = qr.svg_inline(
            scale=5, dark="#000", light="#fff", title="QR code for your authenticator app"
        )
        context["secret"] = _group(base64.b32encode(device.bin_key).decode().rstrip("="))
    return context


def _group(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    staff_sign_out(request=request)
    return redirect("/accounts/login/?signed_out=1")


@staff_required()
def advisor_console(request: HttpRequest) -> HttpResponse:
    return render(request, "console/advisor.html", {"profile": request.staff})  # type: ignore[attr-defined]


@staff_required(supervisor=True)
def supervisor_console(request: HttpRequest) -> HttpResponse:
    return render(request, "console/supervisor.html", {"profile": request.staff})  # type: ignore[attr-defined]
