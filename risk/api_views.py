"""The small JSON API the console's checklist uses. Each POST body is validated against its
schema in risk.api_schemas before the view runs; every record is reached through the gate in
risk.services."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, RawPostDataException
from django.views.decorators.http import require_GET, require_POST
from pydantic import ValidationError

from agents.views import staff_required
from risk import checklist as checklists
from risk import referrals, selectors, services
from risk.api_schemas import AssessmentPatch, Body, CaseOpen, ReferralStart, SafeguardingDecisionBody
from risk.checklist import definition
from risk.models import Assessment, CaseRecord, Referral

View = Callable[..., HttpResponse]


def _error(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    """{"error": {"code", "message"[, "field"]}}; the field is named the way the body names it."""
    error = {"code": code, "message": message} | ({"field": field} if field else {})
    return JsonResponse({"error": error}, status=status)


def _refused_body(exc: ValidationError) -> JsonResponse:
    """The first problem, naming its field (dotted, e.g. `answers.c01.value`)."""
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return _error(400, "bad_json", "The body is not JSON.")
    where = ".".join(str(part) for part in first["loc"])
    if not where:
        return _error(400, "invalid", "Send a JSON object.")
    if first["type"] == "extra_forbidden":
        return _error(400, "invalid", f"Unknown field {where!r}.", where)
    return _error(400, "invalid", f"{where}: {first['msg']}.", where)


def api(schema: type[Body] | None = None) -> Callable[[View], View]:
    """JSON in and out. With a schema, the POST body (empty: {}) is validated and handed to the
    view after the request; refusals become {"error": {"code", "message"[, "field"]}} with a 4xx
    status."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if schema is None:
                    return view(request, *args, **kwargs)
                try:
                    body = schema.model_validate_json(request.body or b"{}")
                except ValidationError as exc:
                    return _refused_body(exc)
                except RawPostDataException:  # a multipart form, already read as one
                    return _error(400, "bad_json", "The body is not JSON.")
                return view(request, body, *args, **kwargs)
            except services.NotFound as exc:
                return _error(404, exc.code, exc.message)
            except services.RiskError as exc:
                return _error(403 if exc.code == "forbidden" else 400, exc.code, exc.message, exc.field)

        return wrapped

    return decorate


def _state(case: CaseRecord | None, assessment: Assessment | None) -> dict[str, Any]:
    """What the console's panel shows: the case, its assessment with the definition it is answered
    against (every part filled in), the evaluation, the current versions to choose from, and the
    case's latest safeguarding decision."""
    result = selectors.evaluation(assessment) if assessment else None
    checklist = definition(assessment.version) if assessment else None
    return {
        "case": {"id": str(case.pk), "reference": case.reference, "url": f"/risk/cases/{case.pk}/"} if case else None,
        "assessment": {
            "id": assessment.pk,
            "version": assessment.version,
            "answers": assessment.answers,
            "professional": assessment.professional,
            "audience": checklist.audience.as_dict() if checklist else None,
            "before_you_ask": assessment.before_you_ask,
            "has_children": assessment.has_children,
            "honour_flag": assessment.honour_flag,
            "judgement_high": assessment.judgement_high,
            "judgement_reason": assessment.judgement_reason,
            "definition": checklist.as_dict() if checklist else None,
        }
        if assessment
        else None,
        "evaluation": result.as_dict() if result else None,
        "versions": [{"version": c.version, "audience": c.audience.as_dict()} for c in checklists.currents()],
        "safeguarding": selectors.safeguarding_latest(case) if case else None,
    }


@staff_required()
@require_GET
@api()
def conversation_state(request: HttpRequest, conversation_id: str) -> HttpResponse:
    case = selectors.case_for_conversation(user=request.user, conversation_id=conversation_id)
    if case is None:
        return JsonResponse(_state(None, None) | {"checklist": checklists.current().as_dict()})
    services.case_for_user(user=request.user, case_id=case.pk)
    assessment = selectors.assessment_for_conversation(case=case, conversation_id=conversation_id)
    return JsonResponse(_state(case, assessment))


@staff_required()
@require_POST
@api(CaseOpen)
def conversation_case(request: HttpRequest, body: CaseOpen, conversation_id: str) -> HttpResponse:
    """Open a case for this conversation (or attach it to the case whose reference is given),
    and start an assessment against the version chosen (one of the current ones; else the
    adults'). A version that is not current is refused before anything is opened."""
    version = services.assessment_version(version=body.version)
    reference = body.reference.strip()
    if reference:
        case = services.case_attach(user=request.user, reference=reference, conversation_id=conversation_id)
    else:
        case = services.case_open(user=request.user, conversation_id=conversation_id)
    assessment = services.assessment_start(
        user=request.user, case_id=case.pk, conversation_id=conversation_id, version=version
    )
    return JsonResponse(_state(case, assessment), status=201)


@staff_required()
@require_POST
@api(AssessmentPatch)
def assessment_save(request: HttpRequest, body: AssessmentPatch, assessment_id: int) -> HttpResponse:
    assessment, _ = services.assessment_answer(
        user=request.user, assessment_id=assessment_id, **body.model_dump(exclude_unset=True)
    )
    return JsonResponse(_state(assessment.case, assessment))


def _referral(user: Any, referral: Referral) -> dict[str, Any]:
    return {
        "id": str(referral.pk),
        "reference": referral.reference,
        "kind": referral.kind,
        "agency": referral.agency.name if referral.agency else None,
        "state": referral.state,
        "url": f"/risk/referrals/{referral.pk}/",
        "moves": referrals.referral_moves(user=user, referral=referral),
    }


@staff_required()
@require_POST
@api(ReferralStart)
def referral_start(request: HttpRequest, body: ReferralStart, case_id: str) -> HttpResponse:
    referral = referrals.referral_draft(
        user=request.user, case_id=case_id, assessment_id=body.assessment_id, kind=body.kind
    )
    return JsonResponse({"referral": _referral(request.user, referral)}, status=201)


@staff_required()
@require_POST
@api(SafeguardingDecisionBody)
def safeguarding_decision(request: HttpRequest, body: SafeguardingDecisionBody, case_id: str) -> HttpResponse:
    """Record whether the children need a safeguarding referral; answers with the panel's state
    for that assessment (else the case's latest)."""
    decision = services.safeguarding_decision_record(user=request.user, case_id=case_id, **body.model_dump())
    case = decision.case
    return JsonResponse(_state(case, decision.assessment or case.assessments.first()), status=201)
