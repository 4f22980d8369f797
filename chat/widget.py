"""The embeddable widget: which sites may embed it, and what a host page may set.

A helpline's page includes widget.js, which asks /widget/config (the browser sends the page's
real Origin) and, only on an allowed site, opens the chat in a frame of our origin. The frame's
`frame-ancestors` names the same sites, so a page that skips the script still cannot frame it.
Colour and language arrive as query parameters and are checked here. The title and the quick-exit
destination never come from a link: they are the staff's configuration for the embedding site
(EmbeddingSite, in the admin), else the embed tag's attributes as /widget/config received them
from an allowed origin and signed them, else the deployment's defaults. The signed site is
honoured only in a frame (Sec-Fetch-Dest), and the frame may then be framed by that origin only."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext as _

from chat import visitor_text
from chat.embedding import EmbeddingSite, is_exit_url

# The deployment's title when it sets none (WIDGET_TITLE): the one the widget translates.
DEFAULT_TITLE = "Chat"
EMBED_SCRIPT = Path(__file__).parent / "static" / "widget" / "widget.js"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
SITE_SALT = "chat.widget.site"
SITE_MAX_AGE = 12 * 3600  # a frame left open on the notice screen can still switch language


@dataclass(frozen=True)
class WidgetOptions:
    language: str
    title: str
    accent: str
    exit_url: str
    embedded: bool
    origin: str = ""  # the embedding site, when the frame proved it (see site_from)


def _allowed(origin: str) -> set[str]:
    return {o.rstrip("/") for o in settings.CHAT[origin]}


def embedding_allowed(origin: str) -> bool:
    return bool(origin) and origin.rstrip("/") in _allowed("WIDGET_ALLOWED_ORIGINS")


def frame_ancestors(origin: str = "") -> list[str]:
    if origin:
        return ["'self'", origin]
    return ["'self'", *sorted(_allowed("WIDGET_ALLOWED_ORIGINS"))]


def _language(requested: str) -> str:
    offered = {code for code, _ in settings.LANGUAGES}
    return requested if requested in offered else settings.LANGUAGE_CODE


def _tag_title(value: str) -> str:
    return " ".join(value.split())[:60]


def presentation(origin: str, *, tag_title: str = "", tag_exit: str = "") -> tuple[str, str]:
    """(title, exit URL) for an allowed embedding site: staff configuration first, then what
    the site's own embed tag says (checked), then the deployment's defaults."""
    site = EmbeddingSite.objects.filter(origin=origin).first() if origin else None
    title = (site.title if site else "") or _tag_title(tag_title) or str(settings.CHAT["WIDGET_TITLE"])
    exit_url = (site.exit_url if site else "") or (tag_exit if is_exit_url(tag_exit) else "")
    return title, exit_url or str(settings.CHAT["QUICK_EXIT_URL"])


def site_token(origin: str, *, tag_title: str, tag_exit: str) -> str:
    """Given by /widget/config to an allowed origin; the frame URL carries it."""
    return signing.dumps(
        {"o": origin, "t": _tag_title(tag_title), "x": tag_exit if is_exit_url(tag_exit) else ""}, salt=SITE_SALT
    )


def site_from(token: str, *, framed: bool) -> dict[str, str] | None:
    """The embedding site a frame URL names, if its signature holds, it is still allowed and
    the page really is in a frame (a link opened as a page of its own gets the defaults)."""
    if not token or not framed or len(token) > 2000:
        return None
    try:
        site = signing.loads(token, salt=SITE_SALT, max_age=SITE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(site, dict) or not embedding_allowed(str(site.get("o", ""))):
        return None
    return {key: str(site.get(key, "")) for key in ("o", "t", "x")}


def options_from(query: QueryDict, *, embedded: bool, framed: bool = False) -> WidgetOptions:
    """Options for the chat page. A `title` or `exit` in the query is ignored: those come from
    the embedding site's configuration only (see presentation)."""
    accent = query.get("accent", "")
    site = site_from(query.get("site", ""), framed=framed) if embedded else None
    if site:
        title, exit_url = presentation(site["o"], tag_title=site["t"], tag_exit=site["x"])
    else:
        title, exit_url = str(settings.CHAT["WIDGET_TITLE"]), str(settings.CHAT["QUICK_EXIT_URL"])
    return WidgetOptions(
        language=_language(query.get("lang", "")),
        title=title,
        accent=accent if HEX_COLOUR.match(accent) else "",
        exit_url=exit_url,
        embedded=embedded,
        origin=site["o"] if site else "",
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
        **exit_strings(),
        **visitor_text.strings(),
        "elsewhere": _("Opens another website in a new tab. Leave this site closes that tab too."),
        "not_opened": _("Your browser did not open a new tab. The address is: %(address)s"),
        "unavailable": _(
            "The chat is not available right now. Please try again later, or contact one of the services below."
        ),
    }


def exit_strings() -> dict[str, str]:
    """The quick-exit count, in the frame and on the host page (widget.js)."""
    return {
        "exit_press_2": _("Shift pressed. Press it 2 more times to leave this site."),
        "exit_press_1": _("Press Shift 1 more time to leave this site."),
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
