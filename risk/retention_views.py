"""The supervisors' retention pages: the review list of cases due, one case's retention (keep,
legal hold, erase), and the register of erasures. Every change goes through risk.retention."""

from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from agents.views import staff_required
from risk import retention, selectors, services
from risk.models import CaseErasure


def _end_of_day(value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise services.RiskError("invalid", "Give the date as YYYY-MM-DD.") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.get_current_timezone())


@staff_required(supervisor=True)
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    error = ""
    reference = request.GET.get("reference", "").strip().upper()[:20]
    if reference:
        case = selectors.visible_cases(request.user).filter(reference=reference).first()
        if case is not None:
            return redirect("risk_case_retention", case_id=case.pk)
        erased = retention.case_erasures(user=request.user).filter(reference=reference).first()
        error = (
            f"Case {reference} was erased on {timezone.localtime(erased.erased_at):%d %b %Y}."
            if erased
            else f"There is no case {reference}."
        )
    rows = retention.cases_due(user=request.user)
    context: dict[str, Any] = {
        "profile": request.staff,  # type: ignore[attr-defined]
        "due": [(case, state) for case, state in rows if not state.hold],
        "held": [(case, state) for case, state in rows if state.hold],
        "erasures": retention.case_erasures(user=request.user)[:50],
        "retention_days": retention.retention_days(),
        "auto_erase": bool(settings.RISK["CASE_AUTO_ERASE"]),
        "grace_days": int(settings.RISK["CASE_ERASE_GRACE_DAYS"]),
        "erased": request.GET.get("erased", "")[:20],
        "reference": reference,
        "error": error,
    }
    return render(request, "risk/retention.html", context, status=404 if error else 200)


@staff_required(supervisor=True)
def case_retention(request: HttpRequest, case_id: UUID) -> HttpResponse:
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        reason = request.POST.get("reason", "")
        try:
            if action == "hold":
                retention.case_hold_set(user=request.user, case_id=case_id, reason=reason)
            elif action == "release":
                retention.case_hold_release(user=request.user, case_id=case_id, reason=reason)
            elif action == "keep":
                until = _end_of_day(request.POST.get("until", ""))
                retention.case_keep(user=request.user, case_id=case_id, until=until, reason=reason)
            elif action == "erase":
                erasure = retention.case_erase(
                    user=request.user,
                    case_id=case_id,
                    reason=reason,
                    confirm_reference=request.POST.get("confirm_reference", ""),
                    basis=request.POST.get("basis", CaseErasure.Basis.REQUEST),
                )
                return redirect(reverse("risk_retention") + f"?erased={erasure.reference}")
            else:
                raise services.RiskError("invalid", "Choose keep, hold, release or erase.")
            return redirect(request.path)
        except services.NotFound:
            raise Http404("No such record that you may see.") from None
        except services.RiskError as exc:
            error = exc.message
    try:
        case = services.case_for_user(user=request.user, case_id=case_id, action="retention_read")
    except services.NotFound:
        erased = retention.case_erasures(user=request.user).filter(case_id=case_id).first()
        if erased is None:
            raise Http404("No such record that you may see.") from None
        return redirect(reverse("risk_retention") + f"?erased={erased.reference}")
    state = retention.case_retention(case=case)
    context = {
        "profile": request.staff,  # type: ignore[attr-defined]
        "case": case,
        "state": state,
        "open_referrals": case.referrals.exclude(state__in=("closed", "withdrawn")).count(),
        "counts": [
            (count, singular if count == 1 else plural)
            for count, singular, plural in (
                (case.conversation_links.count(), "chat", "chats"),
                (case.notes.count(), "note", "notes"),
                (case.incidents.count(), "incident", "incidents"),
                (case.assessments.count(), "assessment", "assessments"),
                (case.safeguarding_decisions.count(), "safeguarding decision", "safeguarding decisions"),
                (case.snapshots.count(), "sealed transcript", "sealed transcripts"),
                (case.referrals.count(), "referral", "referrals"),
            )
        ],
        "error": error,
        "form": request.POST if error else {},
        "today": timezone.localdate().isoformat(),
    }
    return render(request, "risk/case_retention.html", context, status=400 if error else 200)
