import json

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from chat import visitor_text, widget
from chat.errors import ProtocolError
from chat.services.visitor import conversation_end_visitor, visitor_authenticate


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def _chat_page(request: HttpRequest, options: widget.WidgetOptions) -> HttpResponse:
    with translation.override(options.language):
        response = render(request, "visitor/chat.html", widget.page_context(options))
    response["Content-Language"] = options.language
    return response


@never_cache
def visitor_chat(request: HttpRequest) -> HttpResponse:
    """The visitor's chat as a page of its own. It keeps nothing on the device: no cookie is set,
    nothing is stored, and the response is never cached."""
    return _chat_page(request, widget.options_from(request.GET, embedded=False))


@never_cache
@xframe_options_exempt  # framing is governed by frame-ancestors, set from the allowed origins
def widget_frame(request: HttpRequest) -> HttpResponse:
    """The chat inside the frame that widget.js puts on a helpline's site."""
    # Browsers say whether this is a frame; the embedding site's title and exit apply only there.
    framed = request.headers.get("Sec-Fetch-Dest") == "iframe"
    options = widget.options_from(request.GET, embedded=True, framed=framed)
    response = _chat_page(request, options)
    # The same mechanism as csp.decorators.csp_replace, with origins read per request: a frame
    # that names its site may be framed by that site only.
    response._csp_replace = {"frame-ancestors": widget.frame_ancestors(options.origin)}  # type: ignore[attr-defined]
    return response


@never_cache
def widget_script(request: HttpRequest) -> HttpResponse:
    """The one script a helpline's page includes (see docs/widget.md)."""
    return HttpResponse(widget.EMBED_SCRIPT.read_bytes(), content_type="text/javascript; charset=utf-8")


@never_cache
def widget_config(request: HttpRequest) -> HttpResponse:
    """Asked by widget.js with the browser's own Origin header: answers only allowed sites
    (CORS), so on any other site the widget refuses to run and says why in the console. The
    embed tag's title and exit address come as `title` and `exit`; the answer gives what applies
    (staff configuration first) and a signed `site` for the frame's URL."""
    origin = request.headers.get("Origin", "").rstrip("/")
    if not widget.embedding_allowed(origin):
        return JsonResponse({"allowed": False, "error": "origin_not_allowed"}, status=403)
    tag_title, tag_exit = request.GET.get("title", ""), request.GET.get("exit", "")
    title, exit_url = widget.presentation(origin, tag_title=tag_title, tag_exit=tag_exit)
    with translation.override(widget.options_from(request.GET, embedded=False).language):
        strings = widget.exit_strings()
    response = JsonResponse(
        {
            "allowed": True,
            "frame": request.build_absolute_uri(reverse("widget_frame")),
            "site": widget.site_token(origin, tag_title=tag_title, tag_exit=tag_exit),
            "title": title,
            "exit_url": exit_url,
            "strings": strings,
            # A title of the site's own is shown as written; the default one in the page's language.
            "launcher": visitor_text.launcher_label(request.GET.get("lang", "")[:8])
            if title == widget.DEFAULT_TITLE
            else title,
        }
    )
    response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


@never_cache
def widget_theme(request: HttpRequest) -> HttpResponse:
    """The host's colours as a style sheet of our own origin (the pages allow no inline style)."""
    return HttpResponse(widget.theme_css(request.GET), content_type="text/css; charset=utf-8")


def widget_demo(request: HttpRequest) -> HttpResponse:
    """A stand-in host page to try the widget on (not in production)."""
    if settings.PRODUCTION:
        raise Http404
    return render(request, "visitor/demo_host.html")


@never_cache
def staying_safe(request: HttpRequest) -> HttpResponse:
    options = widget.options_from(request.GET, embedded=False)
    with translation.override(options.language):
        return render(request, "visitor/staying_safe.html", widget.page_context(options))


@csrf_exempt  # no cookie is involved: the visitor's token in the body is the credential
@require_POST
def quick_exit(request: HttpRequest) -> HttpResponse:
    """Quick exit by HTTP (navigator.sendBeacon), for when the socket is down at that moment.
    Idempotent; answers 204 whatever happened, so it tells a watcher nothing."""
    try:
        token = json.loads(request.body or b"{}").get("token", "")
        if isinstance(token, str) and 16 <= len(token) <= 128:
            visitor = visitor_authenticate(token=token)
            conversation_end_visitor(visitor_id=visitor.pk, quick_exit=True)
    except (ValueError, AttributeError, ProtocolError):
        pass
    return HttpResponse(status=204)
