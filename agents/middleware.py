from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from agents import auth
from agents.services import staff_sockets_close


class StaffIdleTimeoutMiddleware:
    """Signs out a session that has been idle too long (the console socket counts as activity)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            if auth.idle_expired(request.session):
                user_id = request.user.pk
                logout(request)
                staff_sockets_close(user_id=user_id, reason="idle")
                return redirect("/accounts/login/?idle=1")
            auth.touch(request.session)
        return self.get_response(request)
