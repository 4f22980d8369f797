"""Refuses, with a clear 400, request input that no view here can mean, before any view sees it:

- a NUL character in the query, a form or a JSON body. No field in the product means one, and
  PostgreSQL cannot store or compare text holding one, so a NUL that reached a query failed deep
  in the database as a server error;
- a JSON body that is not UTF-8 (JSON is UTF-8 by definition; parsers elsewhere failed on it).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict

NUL = "A NUL character (%00) is not allowed in a request."
NOT_UTF8 = "The request body must be JSON in UTF-8."


def _nul_in(query: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in query.lists())


def _problem(request: HttpRequest) -> str | None:
    if _nul_in(request.GET):
        return NUL
    if request.method != "POST":
        return None
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return NUL if _nul_in(request.POST) else None
    if content_type == "application/json" or content_type.endswith("+json"):
        body = request.body
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return NOT_UTF8
        return NUL if b"\x00" in body or b"\\u0000" in body.lower() else None
    return None


class InputGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = _problem(request)
        if problem is None:
            return self.get_response(request)
        if (request.content_type or "").endswith("json") or request.path.startswith("/risk/api/"):
            return JsonResponse({"error": problem}, status=400)
        return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
