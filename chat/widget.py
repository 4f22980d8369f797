"""The embeddable widget: which sites may embed it, and what a host page may set.

A helpline's page includes widget.js, which asks /widget/config (the browser sends the page's
real Origin) and, only on an allowed site, opens the chat in a frame of our origin. The frame's
`frame-ancestors` names the same sites, so a page that skips the script still cannot frame it.
What the host sets (title, colour, language, quick-exit destination) arrives as query
parameters and is checked here; anything unexpected falls back to the deployment's default."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext as _

EMBED_SCRIPT = Path(__file__).parent / "static" / "widget" / "widget.js"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class WidgetOptions:
    language: str
    title: str
    accent: str
    exit_url: str
    embedded: bool


def _allowed(origin: str) -> set[str]:
    return {o.rstrip("/") for o in settings.CHAT[origin]}


def embedding_allowed(origin: str) -> bool:
    return bool(origin) and origin.rstrip("/") in _allowed("WIDGET_ALLOWED_ORIGINS")


def frame_ancestors() -> list[str]:
    return ["'self'", *sorted(_allowed("WIDGET_ALLOWED_ORIGINS"))]


def _language(requested: str) -> str:
    offered = {code for code, _ in settings.LANGUAGES}
    return requested if requested in offered else settings.LANGUAGE_CODE


def _exit_url(requested: str) -> str:
    parts = urlsplit(requested)
    if parts.scheme in ("http", "https") and parts.netloc and len(requested) <= 500:
        return requested
    return str(settings.CHAT["QUICK_EXIT_URL"])


def options_from(query: QueryDict, *, embedded: bool) -> WidgetOptions:
    title = query.get("title", "").strip()[:60]
    accent = query.get("accent", "")
    return WidgetOptions(
        language=_language(query.get("lang", "")),
        title=title or str(settings.CHAT["WIDGET_TITLE"]),
        accent=accent if HEX_COLOUR.match(accent) else "",
        exit_url=_exit_url(query.get("exit", "")),
        embedded=embedded,
    )


def theme_css(query: QueryDict) -> str:
    accent = query.get("accent", "")
    if not HEX_COLOUR.match(accent):
        return ""
    return f":root {{ --accent: {accent}; }}\n"


def strings() -> dict[str, str]:
    """What the page's script says, in the active language."""
    return {
        "queue_position": _("You are number %(position)s in the queue."),
        "queue_wait": _("Estimated wait: about %(minutes)s min."),
        "you": _("You"),
        "sent": _("Sent"),
        "read": _("Read"),
        "advisor": _("Advisor"),
        "queued": _("Thank you. You are in the queue for the next available advisor."),
        "assigned": _("You are now talking to %(name)s."),
        "transferred": _("You are being connected to another advisor. You are now talking to %(name)s."),
        "requeued": _("You are back in the queue. An advisor will be with you as soon as possible."),
        "supervisor_joined": _("A supervisor, %(name)s, has joined the chat."),
        "supervisor_left": _("A supervisor left the chat."),
        "closed": _("This chat has ended."),
        "suggest_language": _("Switch to %(language)s?"),
        "next_open": _("We open again on %(when)s."),
        "no_services": _("No services are listed here yet."),
        "choose_region": _("Region"),
        "national": _("National services"),
        "lines_24h": _("Open now: 24-hour lines"),
        "local": _("Services in %(region)s"),
        "phone": _("Phone"),
        "hours": _("Hours"),
        "open_24h": _("Open 24 hours"),
        "address": _("Address"),
        "map": _("Map"),
        "website": _("Website"),
        "contact": _("How to contact"),
        "refuge_note": _("For your safety, refuge addresses are never shown."),
        "required": _("Please answer: %(question)s"),
        "offline": _("You are offline. We will send it when the connection is back."),
        "try_again": _("Something went wrong. Please try again."),
        "closed_now": _("We're closed just now."),
        "unavailable": _(
            "The chat is not available right now. Please try again later, or contact one of the services below."
        ),
    }


def page_context(options: WidgetOptions) -> dict[str, Any]:
    language = translation.get_language() or settings.LANGUAGE_CODE
    return {
        "widget": options,
        "emergency_number": settings.CHAT["EMERGENCY_NUMBER"],
        "languages": [(code, translation.get_language_info(code)["name_local"]) for code, _ in settings.LANGUAGES],
        "widget_config": {
            "language": language,
            "exitUrl": options.exit_url,
            "embedded": options.embedded,
            "emergencyNumber": settings.CHAT["EMERGENCY_NUMBER"],
            "keepToken": bool(settings.CHAT["WIDGET_SESSION_STORAGE"]),
            "strings": strings(),
        },
    }
