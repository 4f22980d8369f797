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

from chat import services, visitor_text, widget
from chat.errors import ProtocolError


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def _chat_page(request: HttpRequest, *, embedded: bool) -> HttpResponse:
    options = widget.options_from(request.GET, embedded=embedded)
    with translation.override(options.language):
        response = render(request, "visitor/chat.html", widget.page_context(options))
    response["Content-Language"] = options.language
    return response


@never_cache
def visitor_chat(request: HttpRequest) -> HttpResponse:
    """The visitor's chat as a page of its own. It keeps nothing on the device: no cookie is set,
    nothing is stored, and the response is never cached."""
    return _chat_page(request, embedded=False)


@never_cache
@xframe_options_exempt  # framing is governed by frame-ancestors, set from the allowed origins
def widget_frame(request: HttpRequest) -> HttpResponse:
    """The chat inside the frame that widget.js puts on a helpline's site."""
    response = _chat_page(request, embedded=True)
    # The same mechanism as csp.decorators.csp_replace, with origins read per request.
    response._csp_replace = {"frame-ancestors": widget.frame_ancestors()}  # type: ignore[attr-defined]
    return response


@never_cache
def widget_script(request: HttpRequest) -> HttpResponse:
    """The one script a helpline's page includes (see docs/widget.md)."""
    return HttpResponse(widget.EMBED_SCRIPT.read_bytes(), content_type="text/javascript; charset=utf-8")


@never_cache
def widget_config(request: HttpRequest) -> HttpResponse:
    """Asked by widget.js with the browser's own Origin header: answers only allowed sites
    (CORS), so on any other site the widget refuses to run and says why in the console."""
    origin = request.headers.get("Origin", "")
    if not widget.embedding_allowed(origin):
        return JsonResponse({"allowed": False, "error": "origin_not_allowed"}, status=403)
    response = JsonResponse(
        {
            "allowed": True,
            "frame": request.build_absolute_uri(reverse("widget_frame")),
            "exit_url": settings.CHAT["QUICK_EXIT_URL"],
            "launcher": visitor_text.launcher_label(request.GET.get("lang", "")[:8]),
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
            visitor = services.visitor_authenticate(token=token)
            services.conversation_end_visitor(visitor_id=visitor.pk, quick_exit=True)
    except (ValueError, AttributeError, ProtocolError):
        pass
    return HttpResponse(status=204)
