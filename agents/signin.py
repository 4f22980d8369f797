"""The sign-in page: password first (then the second-factor page), or, when this client or this
account has had too many failed tries, password and authenticator code together on one form.
The rules are in agents/signin_guard.py."""

from typing import Any

from django import forms
from django.contrib.auth import login as auth_login
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from agents import auth
from agents.models import StaffProfile
from agents.signin_guard import SignInGate, client_pseudonym, signin_gate

TEMPLATE = "registration/login.html"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
TOO_MANY = 429
NOT_RIGHT = "That did not match. Check your username, your password and the code your app shows now."


class SecondFactorSignInForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(max_length=4096, strip=False)
    token = forms.RegexField(regex=r"^[0-9]{6}$", error_messages={"invalid": "The code is six digits."})


def _posted_username(request: HttpRequest) -> str:
    return str(request.POST.get("username", ""))[:150]


def _page(request: HttpRequest, status: int, **context: Any) -> HttpResponse:
    context.setdefault("next", request.POST.get("next") or request.GET.get("next") or "")
    response = render(request, TEMPLATE, context, status=status)
    response.signin_second_factor = context.get("second_factor", False)  # type: ignore[attr-defined]
    return response


def second_factor_page(request: HttpRequest, *, error: str = "", form: Any = None) -> HttpResponse:
    form = form or SecondFactorSignInForm(initial={"username": _posted_username(request)})
    return _page(request, TOO_MANY, second_factor=True, form=form, signin_error=error)


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' answer when a try reaches the limit: the form that takes the code too."""
    if getattr(original_response, "signin_second_factor", False):
        return original_response
    return second_factor_page(request)


class SignInView(LoginView):
    template_name = TEMPLATE
    redirect_authenticated_user = False

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        gate = signin_gate(username=_posted_username(request), client=client_pseudonym(request))
        if gate.second_factor_needed:
            return _sign_in_with_second_factor(request)
        if gate.wait_seconds:
            return _wait_page(request, gate)
        return super().post(request, *args, **kwargs)


def _wait_page(request: HttpRequest, gate: SignInGate) -> HttpResponse:
    """Too many recent failures from here: the password is not even checked until the pause ends."""
    form = SecondFactorSignInForm(initial={"username": _posted_username(request)})
    response = _page(request, TOO_MANY, form=form, wait_seconds=gate.wait_seconds)
    response["Retry-After"] = str(gate.wait_seconds)
    return response


def _sign_in_with_second_factor(request: HttpRequest) -> HttpResponse:
    if "token" not in request.POST:  # the ordinary form: nothing is checked, the longer one is shown
        return second_factor_page(request)
    form = SecondFactorSignInForm(request.POST)
    if not form.is_valid():
        return second_factor_page(request, form=form)
    data = form.cleaned_data
    user = ModelBackend().authenticate(request, username=data["username"], password=data["password"])
    device = _confirmed_totp(user)
    # The code is looked at only after the right password, so a guesser cannot use up the real
    # person's code attempts; every refusal reads the same.
    allowed = user is not None and device is not None and device.verify_is_allowed()[0]
    if allowed and device is not None and device.verify_token(data["token"]):
        auth_login(request, user, backend=MODEL_BACKEND)
        otp_login(request, device)
        auth.touch(request.session)
        return redirect("supervisor_console" if user.staff.is_supervisor else "advisor_console")  # type: ignore[union-attr]
    user_login_failed.send(sender=__name__, credentials={"username": data["username"]}, request=request)
    form = SecondFactorSignInForm(initial={"username": data["username"]})
    return second_factor_page(request, error=NOT_RIGHT, form=form)


def _confirmed_totp(user: Any) -> TOTPDevice | None:
    if user is None or not StaffProfile.objects.filter(user=user).exists():
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()
