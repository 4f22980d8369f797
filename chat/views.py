import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from chat import services
from chat.errors import ProtocolError


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@never_cache
def visitor_chat(request: HttpRequest) -> HttpResponse:
    """The visitor's chat page. It keeps nothing on the device: no cookie is set, nothing is
    stored, and the response is never cached."""
    return render(
        request,
        "visitor/chat.html",
        {
            "quick_exit_url": settings.CHAT["QUICK_EXIT_URL"],
            "emergency_number": settings.CHAT["EMERGENCY_NUMBER"],
        },
    )


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
