from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache


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
