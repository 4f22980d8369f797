"""Case, referral and checklist pages, and the small JSON API the console's checklist uses.
Every view reaches its records through the gate in risk.services."""

import json
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agents.views import staff_required
from risk import checklist as checklists
from risk import services
from risk.checklist import definition
from risk.filters import CRITERION_LABELS, referral_filters
from risk.models import Assessment, CaseRecord, Referral
from risk.tasks import snapshot_pdf

View = Callable[..., HttpResponse]


def api(view: View) -> View:
    """JSON in and out; refusals become {"error": {"code", "message"}} with a 4xx status."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            body = json.loads(request.body or b"{}") if request.method == "POST" else {}
            if not isinstance(body, dict):
                raise services.RiskError("invalid", "Send a JSON object.")
            return view(request, body, *args, **kwargs)
        except ValueError:
            return JsonResponse({"error": {"code": "bad_json", "message": "The body is not JSON."}}, status=400)
        except services.NotFound as exc:
            return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=404)
        except services.RiskError as exc:
            status = 403 if exc.code == "forbidden" else 400
            return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=status)

    return wrapped


def _state(case: CaseRecord | None, assessment: Assessment | None) -> dict[str, Any]:
    result = services.evaluation(assessment) if assessment else None
    return {
        "case": {"id": str(case.pk), "reference": case.reference, "url": f"/risk/cases/{case.pk}/"} if case else None,
        "assessment": {
            "id": assessment.pk,
            "version": assessment.version,
            "answers": assessment.answers,
            "before_you_ask": assessment.before_you_ask,
            "has_children": assessment.has_children,
            "honour_flag": assessment.honour_flag,
            "judgement_high": assessment.judgement_high,
            "judgement_reason": assessment.judgement_reason,
            "definition": definition(assessment.version).as_dict(),
        }
        if assessment
        else None,
        "evaluation": result.as_dict() if result else None,
    }


@staff_required()
@require_GET
@api
def conversation_state(request: HttpRequest, body: dict[str, Any], conversation_id: str) -> HttpResponse:
    case = services.visible_cases(request.user).filter(conversation_links__conversation_id=conversation_id).first()
    if case is None:
        return JsonResponse(_state(None, None) | {"checklist": checklists.current().as_dict()})
    services.case_for_user(user=request.user, case_id=case.pk)
    assessment = case.assessments.filter(conversation_id=conversation_id).first() or case.assessments.first()
    return JsonResponse(_state(case, assessment))


@staff_required()
@require_POST
@api
def conversation_case(request: HttpRequest, body: dict[str, Any], conversation_id: str) -> HttpResponse:
    """Open a case for this conversation (or attach it to the case whose reference is given),
    and start an assessment."""
    reference = str(body.get("reference", "")).strip()
    if reference:
        case = services.case_attach(user=request.user, reference=reference, conversation_id=conversation_id)
    else:
        case = services.case_open(user=request.user, conversation_id=conversation_id)
    assessment = services.assessment_start(user=request.user, case_id=case.pk, conversation_id=conversation_id)
    return JsonResponse(_state(case, assessment), status=201)


@staff_required()
@require_POST
@api
def assessment_save(request: HttpRequest, body: dict[str, Any], assessment_id: int) -> HttpResponse:
    allowed = {"answers", "before_you_ask", "has_children", "honour_flag", "judgement_high", "judgement_reason"}
    unknown = set(body) - allowed
    if unknown:
        raise services.RiskError("invalid", f"Unknown field(s): {sorted(unknown)}.")
    assessment, _ = services.assessment_answer(user=request.user, assessment_id=assessment_id, **body)
    return JsonResponse(_state(assessment.case, assessment))


@staff_required()
@require_POST
@api
def referral_start(request: HttpRequest, body: dict[str, Any], case_id: str) -> HttpResponse:
    assessment_id = body.get("assessment_id")
    referral = services.referral_draft(
        user=request.user, case_id=case_id, assessment_id=int(assessment_id) if assessment_id else None
    )
    return JsonResponse({"referral": {"id": str(referral.pk), "url": f"/risk/referrals/{referral.pk}/"}}, status=201)


def _gate(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except services.NotFound:
        raise Http404("No such record that you may see.") from None


@staff_required()
def case_page(request: HttpRequest, case_id: str) -> HttpResponse:
    case = _gate(lambda: services.case_for_user(user=request.user, case_id=case_id))
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "snapshot":
                snapshot = services.snapshot_make(
                    user=request.user, case_id=case.pk, conversation_id=request.POST.get("conversation_id", "")
                )
                snapshot_pdf.delay(str(snapshot.pk))
            elif action == "note":
                services.case_note_add(user=request.user, case_id=case.pk, text=request.POST.get("text", ""))
            elif action == "outcome":
                services.case_outcome_set(user=request.user, case_id=case.pk, outcome=request.POST.get("outcome", ""))
            elif action == "incident":
                services.incident_add(
                    user=request.user,
                    case_id=case.pk,
                    occurred_on=date.fromisoformat(request.POST.get("occurred_on", "")),
                    reported_to=request.POST.get("reported_to", ""),
                    note=request.POST.get("note", ""),
                )
            return redirect(request.path)
        except (services.RiskError, ValueError) as exc:
            error = exc.message if isinstance(exc, services.RiskError) else "Give the date as YYYY-MM-DD."
    supervisor = services.is_supervisor(request.user)
    context = {
        "profile": request.staff,  # type: ignore[attr-defined]
        "case": case,
        "links": case.conversation_links.select_related("conversation"),
        "assessments": [(a, services.evaluation(a)) for a in case.assessments.all()],
        "snapshots": case.snapshots.all(),
        "referrals": case.referrals.all(),
        "incidents": case.incidents.all(),
        "notes": case.notes.select_related("author__staff"),
        "audit": case.audit.select_related("actor", "referral").order_by("-seq")[:200] if supervisor else None,
        "error": error,
        "today": timezone.localdate().isoformat(),
    }
    return render(request, "risk/case.html", context, status=400 if error else 200)


@staff_required()
def snapshot_export(request: HttpRequest, snapshot_id: str, fmt: str) -> HttpResponse:
    if fmt not in ("json", "pdf"):
        raise Http404("Exports are JSON or PDF.")
    snapshot = _gate(
        lambda: services.snapshot_for_user(user=request.user, snapshot_id=snapshot_id, action=f"export_{fmt}")
    )
    if fmt == "json":
        response = HttpResponse(services.snapshot_json(snapshot), content_type="application/json")
    else:
        response = HttpResponse(services.snapshot_pdf(snapshot_id=snapshot.pk), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{snapshot.case.reference}-{snapshot.sha256[:12]}.{fmt}"'
    return response


FORM_SECTIONS = [
    ("referrer", "Referrer"),
    ("victim", "Victim"),
    ("risk_summary", "Risk summary"),
    ("safety", "Safety"),
    ("consent", "Consent and information sharing"),
]
# The people sections: how many entries the form offers for each.
PEOPLE_SECTIONS = [("perpetrators", "Perpetrator", 2), ("household", "Child or other person in the household", 4)]
YES_NO = {
    "discussed_with_manager",
    "safe_to_call",
    "safe_to_leave_message",
    "interpreter",
    "victim_aware",
    "consent_given",
}
LABELS = {
    "secure_email": "Secure email",
    "discussed_with_manager": "Discussed with a manager",
    "date_of_birth": "Date of birth",
    "safe_to_call": "Safe to call",
    "safe_to_leave_message": "Safe to leave a message",
    "safe_times": "Safe times to call",
    "interpreter": "Needs an interpreter",
    "immigration_status": "Immigration status",
    "background": "Background and risk issues",
    "why_multi_agency": "Why a multi-agency response is needed",
    "crime_reference": "Crime or incident reference",
    "fears": "Who the victim fears",
    "safe_to_talk_to": "Who is safe to talk to",
    "not_safe_to_talk_to": "Who is not safe to talk to",
    "earlier_maracs": "Earlier MARACs",
    "victim_aware": "The victim knows about this referral",
    "why_not_aware": "If not, why not",
    "consent_given": "Consent given",
    "basis_without_consent": "Without consent: the basis for sharing (safeguarding, necessity, proportionality)",
    "sharing_protocol_reference": "Local information-sharing protocol reference",
    "relationship": "Relationship to the victim",
    "relationship_to_victim": "Relationship to the victim",
    "relationship_to_perpetrator": "Relationship to the perpetrator",
}


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " ").capitalize())


def _field(section: str, key: str, value: Any) -> dict[str, Any]:
    return {"name": f"{section}.{key}", "label": _label(key), "value": value, "yes_no": key in YES_NO}


def _ids(values: list[str]) -> list[int]:
    if not all(value.isdigit() for value in values):
        raise services.RiskError("invalid", "An excerpt must be a message of one of this case's chats.")
    return [int(value) for value in values]


def _people_from_post(request: HttpRequest, section: str, slots: int) -> list[dict[str, Any]]:
    people = []
    for index in range(slots):
        entry = {
            key: request.POST.get(f"{section}.{index}.{key}", "").strip() for key in services.PERSON_FIELDS[section]
        }
        if any(entry.values()):
            people.append({key: value or None for key, value in entry.items()})
    return people


@staff_required()
def referral_page(request: HttpRequest, referral_id: str) -> HttpResponse:
    referral = _gate(lambda: services.referral_for_user(user=request.user, referral_id=referral_id))
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "save":
                form: dict[str, Any] = {}
                for section, _ in FORM_SECTIONS:
                    values = referral.form.get(section, {})
                    form[section] = {
                        key: (request.POST.get(f"{section}.{key}") or None)
                        for key, value in values.items()
                        if not isinstance(value, (list, dict, bool)) and f"{section}.{key}" in request.POST
                    }
                for section, _, slots in PEOPLE_SECTIONS:
                    if f"{section}.0.name" in request.POST:
                        form[section] = _people_from_post(request, section, slots)
                services.referral_update(
                    user=request.user,
                    referral_id=referral.pk,
                    form=form,
                    urgent=request.POST.get("urgent") == "on",
                    area=request.POST.get("area", referral.area),
                    excerpt_ids=_ids(request.POST.getlist("excerpt")) if "excerpts_shown" in request.POST else None,
                )
            else:
                meeting = request.POST.get("meeting_on") or None
                services.referral_transition(
                    user=request.user,
                    referral_id=referral.pk,
                    to_state=action,
                    reason=request.POST.get("reason", ""),
                    meeting_on=date.fromisoformat(meeting) if meeting else None,
                    outcome=request.POST.get("outcome", ""),
                )
            return redirect(request.path)
        except (services.RiskError, ValueError) as exc:
            error = exc.message if isinstance(exc, services.RiskError) else "Give the date as YYYY-MM-DD."
    supervisor = services.is_supervisor(request.user)
    editable = referral.state in (Referral.State.DRAFT, Referral.State.RETURNED) and (
        referral.created_by_id == request.user.pk or supervisor
    )
    moves = [
        (to_state, Referral.State(to_state).label)
        for to_state, sources in services.TRANSITIONS.items()
        if referral.state in sources
        and (
            (sources[referral.state] == "supervisor" and supervisor)
            or (sources[referral.state] == "owner" and (referral.created_by_id == request.user.pk or supervisor))
        )
    ]
    sections = [
        (
            name,
            title,
            [
                _field(name, k, v)
                for k, v in referral.form.get(name, {}).items()
                if not isinstance(v, (list, dict, bool))
            ],
        )
        for name, title in FORM_SECTIONS
    ]
    people = []
    for section, title, slots in PEOPLE_SECTIONS:
        entries = list(referral.form.get(section, []))[:slots]
        entries += [{}] * (slots - len(entries))
        people.append(
            (
                section,
                [
                    (
                        f"{title} {index + 1}",
                        [_field(f"{section}.{index}", k, entry.get(k)) for k in services.PERSON_FIELDS[section]],
                    )
                    for index, entry in enumerate(entries)
                ],
            )
        )
    context = {
        "profile": request.staff,  # type: ignore[attr-defined]
        "referral": referral,
        "sections": sections,
        "people": people,
        "editable": editable,
        "moves": moves,
        "error": error,
        "transitions": referral.transitions.select_related("by__staff"),
        "criteria": referral.form.get("criteria", {}),
        "excerpts": referral.form.get("risk_summary", {}).get("excerpts", []),
        "chat_lines": list(services.case_messages(referral.case)[:300]) if editable else [],
        "chosen": {e.get("id") for e in referral.form.get("risk_summary", {}).get("excerpts", [])},
    }
    return render(request, "risk/referral.html", context, status=400 if error else 200)


@staff_required(supervisor=True)
def referral_queue(request: HttpRequest) -> HttpResponse:
    filters, errors = referral_filters(request.GET)
    if errors:
        context = {"profile": request.staff, "rows": [], "filters": request.GET, "filter_errors": errors}  # type: ignore[attr-defined]
        return render(request, "risk/queue.html", {**context, "states": Referral.State.choices}, status=400)
    queue = services.referral_queue(user=request.user, **filters)
    now = timezone.now()
    rows = [
        {
            "referral": r,
            "overdue": bool(r.due_at and r.due_at < now and r.state in ("submitted", "under_review")),
            "age_days": (now - (r.submitted_at or r.created_at)).days,
            "criteria": ", ".join(CRITERION_LABELS.get(key, key) for key in r.criteria),
        }
        for r in queue.select_related("repeat_of", "created_by__staff")[:500]
    ]
    return render(
        request,
        "risk/queue.html",
        {"profile": request.staff, "rows": rows, "filters": request.GET, "states": Referral.State.choices},  # type: ignore[attr-defined]
    )
