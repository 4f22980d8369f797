"""The `Permissions-Policy` header on every response: the browser features no page here uses are
off, for the page and anything it frames. Passkeys (WebAuthn) stay allowed for this origin only."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Off: "()" allows no origin; "(self)" only this one.
DEFAULT_POLICY = {
    "accelerometer": "()",
    "autoplay": "()",
    "camera": "()",
    "display-capture": "()",
    "geolocation": "()",
    "gyroscope": "()",
    "hid": "()",
    "idle-detection": "()",
    "magnetometer": "()",
    "microphone": "()",
    "midi": "()",
    "payment": "()",
    "screen-wake-lock": "()",
    "serial": "()",
    "usb": "()",
    "xr-spatial-tracking": "()",
    "publickey-credentials-create": "(self)",
    "publickey-credentials-get": "(self)",
}


def header_value(policy: dict[str, str]) -> str:
    return ", ".join(f"{feature}={allow}" for feature, allow in policy.items())


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.value = header_value(getattr(settings, "PERMISSIONS_POLICY", DEFAULT_POLICY))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.value)
        return response
