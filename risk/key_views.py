"""The published signing keys: public, no sign-in, the same JSON `signing_key export` writes."""

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from risk import signing


@require_GET
def published_keys(request: HttpRequest) -> HttpResponse:
    body = json.dumps(signing.published_keys(), indent=2, sort_keys=True)
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response
