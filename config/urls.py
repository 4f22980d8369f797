from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from config.health import healthz, metrics, readiness

# The admin, like the consoles, needs a session verified with a second factor.
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("healthz/ready", readiness, name="readiness"),
    path("metrics", metrics, name="metrics"),
    path("accounts/webauthn/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("", include("agents.urls")),
    path("", include("chat.figures_urls")),
    path("", include("risk.urls")),
    path("", include("chat.urls")),
    path("", include("messenger.urls")),
]
