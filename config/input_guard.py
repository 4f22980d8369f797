"""Refuses a request that carries a NUL character in its query, form or JSON body.

No field in the product means one, and PostgreSQL cannot store or compare text holding one, so a
NUL that reached a query failed deep in the database as a server error. It is answered here, with
a clear 400, before any view or filter sees it.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict

MESSAGE = "A NUL character (%00) is not allowed in a request."


def _nul_in(query: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in query.lists())


def _has_nul(request: HttpRequest) -> bool:
    if _nul_in(request.GET):
        return True
    if request.method != "POST":
        return False
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _nul_in(request.POST)
    if content_type == "application/json" or content_type.endswith("+json"):
        body = request.body
        return b"\x00" in body or b"\\u0000" in body.lower()
    return False


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            if (request.content_type or "").endswith("json") or request.path.startswith("/risk/api/"):
                return JsonResponse({"error": MESSAGE}, status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
