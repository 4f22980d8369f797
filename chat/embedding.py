"""The sites that embed the widget, as staff configure them: per site, the neutral title the
chat shows and where quick exit goes. A link never sets either (see chat/widget.py)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def normalise_origin(value: str) -> str:
    """`https://www.helpline.example` from what staff type; ValidationError if it is not an origin."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("An origin is a scheme and a host, like https://www.helpline.example")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError("Give only the scheme and host (and port if any), with no path.")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def is_exit_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and len(value) <= 500


def allowed_origins() -> set[str]:
    return {o.rstrip("/") for o in settings.CHAT["WIDGET_ALLOWED_ORIGINS"]}


class EmbeddingSite(models.Model):
    """A helpline site allowed to embed the widget (its origin is in WIDGET_ALLOWED_ORIGINS),
    with what a visitor sees there. Empty fields fall back to the embed tag's attributes, then
    to the deployment's defaults (WIDGET_TITLE, CHAT_QUICK_EXIT_URL)."""

    origin = models.CharField(
        max_length=200, unique=True, help_text="Scheme and host of the site, e.g. https://www.helpline.example"
    )
    title = models.CharField(
        max_length=60, blank=True, help_text="The chat's title and the frame's page title. Keep it neutral."
    )
    exit_url = models.URLField(
        max_length=500, blank=True, help_text="Where quick exit sends the visitor, e.g. https://www.bbc.co.uk/weather"
    )

    class Meta:
        app_label = "chat"
        ordering = ["origin"]

    def __str__(self) -> str:
        return self.origin

    def clean(self) -> None:
        self.origin = normalise_origin(self.origin)
        if self.origin not in allowed_origins():
            message = (
                f"{self.origin} is not in WIDGET_ALLOWED_ORIGINS: add it there first, or the widget will not run on it."
            )
            raise ValidationError({"origin": message})
        if self.exit_url and not is_exit_url(self.exit_url):
            raise ValidationError({"exit_url": "Give an http or https address."})
