"""The return phrase's JSON API (the console's risk panel) and the case page's revoke button. Each
body is a schema (risk.return_phrase_schemas); every record is reached through the services' gate.
A phrase's words leave the server once, in the answer that issues it, which no cache keeps."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agents.views import staff_required
from risk import return_phrases, services
from risk.api_views import _error, _state, api
from risk.return_phrase_schemas import PhraseAttach, PhraseIssue, PhraseRevoke
from risk.views import _gate


def _throttled(exc: return_phrases.PhraseThrottled) -> HttpResponse:
    response = _error(429, exc.code, exc.message, exc.field)
    response["Retry-After"] = str(exc.retry_after)
    return response


@require_GET
@api()
def _phrase_state(request: HttpRequest, case_id: str) -> HttpResponse:
    return JsonResponse(return_phrases.case_phrase_state(user=request.user, case_id=case_id))


@require_POST
@api(PhraseIssue)
def _phrase_issue(request: HttpRequest, body: PhraseIssue, case_id: str) -> HttpResponse:
    issued = return_phrases.return_phrase_issue(
        user=request.user, case_id=case_id, conversation_id=body.conversation_id
    )
    response = JsonResponse(
        {"phrase": issued.words, "active": return_phrases.phrase_summary(issued.phrase)}, status=201
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required()
@require_http_methods(["GET", "POST"])
def case_phrase(request: HttpRequest, case_id: str) -> HttpResponse:
    """GET: the case's live phrase (never its words). POST: issue a new one (the earlier revoked);
    the answer carries its words, this once."""
    if request.method == "GET":
        return _phrase_state(request, case_id)
    return _phrase_issue(request, case_id)


@staff_required()
@require_POST
@api(PhraseRevoke)
def phrase_revoke(request: HttpRequest, body: PhraseRevoke, phrase_id: int) -> HttpResponse:
    phrase = return_phrases.return_phrase_revoke(user=request.user, phrase_id=phrase_id)
    return JsonResponse({"active": None, "revoked": return_phrases.phrase_summary(phrase)})


@staff_required()
@require_POST
@api(PhraseAttach)
def conversation_phrase(request: HttpRequest, body: PhraseAttach, conversation_id: str) -> HttpResponse:
    """Link this chat to the case whose phrase the visitor gave, with their consent, and start the
    checklist on it: answers with the panel's state."""
    version = services.assessment_version(version=body.version)
    try:
        case = return_phrases.case_attach_by_phrase(
            user=request.user, conversation_id=conversation_id, phrase=body.phrase, consent=body.consent
        )
    except return_phrases.PhraseThrottled as exc:
        return _throttled(exc)
    assessment = services.assessment_start(
        user=request.user, case_id=case.pk, conversation_id=conversation_id, version=version
    )
    return JsonResponse(_state(case, assessment) | {"linked_by_phrase": True}, status=201)


@staff_required()
@require_POST
def phrase_revoke_page(request: HttpRequest, phrase_id: int) -> HttpResponse:
    """The case page's "Revoke" button: back to the case page, saying what was done."""
    try:
        phrase = _gate(lambda: return_phrases.return_phrase_revoke(user=request.user, phrase_id=phrase_id))
    except services.RiskError as exc:
        case_id = return_phrases.phrase_case_id(phrase_id)
        if case_id is None:
            raise
        messages.error(request, exc.message, extra_tags="return-phrase")
        return redirect("risk_case", case_id=case_id)
    messages.success(request, "The return phrase is revoked: it links nothing now.", extra_tags="return-phrase")
    return redirect("risk_case", case_id=phrase.case_id)
