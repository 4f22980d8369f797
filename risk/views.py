"""The risk pages: a case, a transcript export, a referral and the supervisors' referral queue.
Each reaches its record through the gate in risk.services, reads around it through
risk.selectors, and hands every change to one service. The console's JSON API is in
risk.api_views."""

from collections.abc import Callable
from datetime import date
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from agents.views import staff_required
from risk import (
    assessment_export,
    delivery,
    delivery_selectors,
    outcome_views,
    referral_form,
    referrals,
    selectors,
    services,
    snapshots,
    transcript_pdf,
)
from risk.filters import referral_filters
from risk.models import CaseRecord, Referral

DATE_FORMAT = "Give the date as YYYY-MM-DD."


def _gate(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except services.NotFound:
        raise Http404("No such record that you may see.") from None


def _case_action(request: HttpRequest, case: CaseRecord) -> Referral | None:
    """Do what the case page posted; a referral drafted is returned, to be opened next."""
    action = request.POST.get("action")
    if action == "referral":
        return referrals.referral_draft(user=request.user, case_id=case.pk, kind=request.POST.get("kind", ""))
    if action == "snapshot":
        snapshots.snapshot_make(
            user=request.user, case_id=case.pk, conversation_id=request.POST.get("conversation_id", "")
        )
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
            reported_to_police=bool(request.POST.get("reported_to_police")),
            note=request.POST.get("note", ""),
        )
    elif action == "safeguarding":
        needed = request.POST.get("needed", "")
        if needed not in ("yes", "no"):
            raise services.RiskError("invalid", "Say whether a safeguarding referral is needed.")
        assessment = request.POST.get("assessment_id", "")
        services.safeguarding_decision_record(
            user=request.user,
            case_id=case.pk,
            needed=needed == "yes",
            decided_on=date.fromisoformat(request.POST.get("decided_on", "")),
            reason=request.POST.get("reason", ""),
            assessment_id=int(assessment) if assessment.isdigit() else None,
        )
    return None


@staff_required()
def case_page(request: HttpRequest, case_id: str) -> HttpResponse:
    case = _gate(lambda: services.case_for_user(user=request.user, case_id=case_id))
    error = ""
    if request.method == "POST":
        try:
            drafted = _case_action(request, case)
            return redirect(f"/risk/referrals/{drafted.pk}/" if drafted else request.path)
        except (services.RiskError, ValueError) as exc:
            error = exc.message if isinstance(exc, services.RiskError) else DATE_FORMAT
    context = {
        "profile": request.staff,  # type: ignore[attr-defined]
        "case": case,
        **selectors.case_overview(case=case, supervisor=selectors.is_supervisor(request.user)),
        "error": error,
        "today": timezone.localdate().isoformat(),
    }
    return render(request, "risk/case.html", context, status=400 if error else 200)


@staff_required()
def snapshot_export(request: HttpRequest, snapshot_id: str, fmt: str) -> HttpResponse:
    if fmt not in ("json", "pdf"):
        raise Http404("Exports are JSON or PDF.")
    snapshot = _gate(
        lambda: snapshots.snapshot_for_user(user=request.user, snapshot_id=snapshot_id, action=f"export_{fmt}")
    )
    if fmt == "json":
        response = HttpResponse(snapshots.snapshot_json(snapshot), content_type="application/json")
    else:
        response = HttpResponse(transcript_pdf.snapshot_pdf(snapshot_id=snapshot.pk), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{snapshot.case.reference}-{snapshot.sha256[:12]}.{fmt}"'
    return response


@staff_required()
def assessment_export_view(request: HttpRequest, assessment_id: int, fmt: str) -> HttpResponse:
    if fmt not in assessment_export.FORMATS:
        raise Http404("Exports are JSON or PDF.")
    assessment = _gate(
        lambda: assessment_export.assessment_for_user(
            user=request.user, assessment_id=assessment_id, action=f"export_{fmt}"
        )
    )
    if fmt == "json":
        response = HttpResponse(assessment_export.export_json(assessment), content_type="application/json")
    else:
        response = HttpResponse(assessment_export.export_pdf(assessment), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{assessment_export.export_filename(assessment, fmt)}"'
    return response


def _referral_action(request: HttpRequest, referral: Referral) -> None:
    action = request.POST.get("action", "")
    if action in outcome_views.PAGE_ACTIONS:  # the MARAC outcome and its actions
        outcome_views.referral_page_action(request, referral)
    elif action == "save":
        referrals.referral_update(
            user=request.user,
            referral_id=referral.pk,
            form=referral_form.form_patch(request.POST, referral),
            urgent=request.POST.get("urgent") == "on",
            area=request.POST.get("area", referral.area),
            excerpt_ids=referral_form.excerpt_ids(request.POST),
            snapshot_id=request.POST.get("snapshot"),
        )
    elif action == "deliver":  # delivery to the destination agency (risk/delivery.py)
        seen = request.POST.get("seen", "")
        count = int(seen) if seen.isdigit() else None
        delivery.delivery_request(user=request.user, referral_id=referral.pk, seen=count)
    else:
        meeting = request.POST.get("meeting_on") or None
        referrals.referral_transition(
            user=request.user,
            referral_id=referral.pk,
            to_state=action,
            reason=request.POST.get("reason", ""),
            meeting_on=date.fromisoformat(meeting) if meeting else None,
            outcome=request.POST.get("outcome", ""),
        )


@staff_required()
def referral_page(request: HttpRequest, referral_id: str) -> HttpResponse:
    referral = _gate(lambda: referrals.referral_for_user(user=request.user, referral_id=referral_id))
    error = ""
    if request.method == "POST":
        try:
            _referral_action(request, referral)
            return redirect(request.path)
        except (services.RiskError, ValueError) as exc:
            error = exc.message if isinstance(exc, services.RiskError) else DATE_FORMAT
    editable = referrals.referral_editable(user=request.user, referral=referral)
    moves = referrals.referral_moves(user=request.user, referral=referral)
    context = {
        "profile": request.staff,  # type: ignore[attr-defined]
        "referral": referral,
        **referral_form.layout(referral),
        "editable": editable,
        "moves": [(to_state, Referral.State(to_state).label) for to_state in moves],
        "move_states": moves,  # which fields the next step asks for: a meeting date only to list it
        "error": error,
        "transitions": selectors.referral_history(referral),
        "chat_lines": selectors.referral_chat_lines(referral) if editable else [],
        **outcome_views.referral_page_context(request, referral),
        **delivery_selectors.referral_deliveries(user=request.user, referral=referral),
        "case_snapshots": referral.case.snapshots.all() if editable else [],
    }
    return render(request, "risk/referral.html", context, status=400 if error else 200)


@staff_required(supervisor=True)
def referral_queue(request: HttpRequest) -> HttpResponse:
    filters, errors = referral_filters(request.GET)
    context: dict[str, Any] = {
        "profile": request.staff,  # type: ignore[attr-defined]
        "filters": request.GET,
        "states": Referral.State.choices,
        "kinds": selectors.REFERRAL_KINDS,
    }
    if errors:
        return render(request, "risk/queue.html", {**context, "rows": [], "filter_errors": errors}, status=400)
    queue = referrals.referral_queue(user=request.user, **filters)
    rows = selectors.referral_queue_rows(queue, now=timezone.now())
    context.update(outcome_views.queue_context(request, rows))
    context["delivery_attention"] = delivery_selectors.deliveries_needing_attention()
    return render(request, "risk/queue.html", {**context, "rows": rows})
