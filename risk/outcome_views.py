"""The referral page's MARAC outcome part (the meeting's outcome, its actions, the previous
meeting's actions on a repeat referral, possible links to other cases), the supervisors' queue's
overdue actions and possible links, and the supervisors' perpetrator search. Each change goes
to one service in risk.outcomes; links come from risk.perpetrators, which audits every lookup."""

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from agents.views import staff_required
from risk import outcome_selectors, outcomes, perpetrators, selectors, services
from risk.models import Referral
from risk.outcome_models import MaracAction

# The referral page's POST actions handled here.
PAGE_ACTIONS = frozenset({"outcome_record", "action_add", "action_status"})
# How many blank actions the outcome form offers.
ACTION_SLOTS = 5


def _date(value: str, what: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise services.RiskError("invalid", f"{what}: give the date as YYYY-MM-DD.") from None


def _action(data: QueryDict, prefix: str, number: int) -> outcomes.ActionInput | None:
    """One action row of the form, or None when it was left blank."""
    agency = data.get(f"{prefix}-agency", "").strip()
    fields = [data.get(f"{prefix}-{name}", "").strip() for name in ("agency_name", "description", "due_on")]
    if not agency and not any(fields):
        return None
    agency_id = outcomes.row_id(agency) if agency else None
    if agency and agency_id is None:
        raise services.RiskError("invalid", f"Action {number}: that agency is not in the directory.")
    return outcomes.ActionInput(
        agency_id=agency_id,
        agency_name=fields[0],
        description=fields[1],
        due_on=_date(fields[2], f"Action {number}"),
    )


def referral_page_action(request: HttpRequest, referral: Referral) -> None:
    """Handle one of PAGE_ACTIONS posted on the referral page."""
    action = request.POST.get("action", "")
    if action == "outcome_record":
        heard_on = _date(request.POST.get("heard_on", ""), "The meeting's date")
        if heard_on is None:
            raise services.RiskError("invalid", "Give the date of the meeting.")
        rows = [_action(request.POST, f"action-{n}", n) for n in range(1, ACTION_SLOTS + 1)]
        outcomes.outcome_record(
            user=request.user,
            referral_id=referral.pk,
            heard_on=heard_on,
            summary=request.POST.get("summary", ""),
            actions=[row for row in rows if row is not None],
        )
    elif action == "action_add":
        row = _action(request.POST, "new", 1)
        if row is None:
            raise services.RiskError("invalid", "Say what is to be done, by whom and when.")
        outcomes.action_add(user=request.user, referral_id=referral.pk, action=row)
    elif action == "action_status":
        outcomes.action_status_set(
            user=request.user, action_id=request.POST.get("action_id", ""), status=request.POST.get("status", "")
        )


def referral_page_context(request: HttpRequest, referral: Referral) -> dict[str, Any]:
    """What the referral page's outcome part shows."""
    supervisor = selectors.is_supervisor(request.user)
    marac = referral.kind == Referral.Kind.MARAC
    outcome = outcome_selectors.referral_outcome(referral) if marac else None
    recordable = (
        marac
        and supervisor
        and outcome is None
        and referral.state in (Referral.State.LISTED, Referral.State.HEARD, Referral.State.CLOSED)
    )
    return {
        "meeting": {
            "shown": marac,
            "outcome": outcome,
            "recordable": recordable,
            "editable": bool(supervisor and outcome is not None),
            "slots": [{"prefix": f"action-{n}", "title": f"Action {n}"} for n in range(1, ACTION_SLOTS + 1)],
            "agencies": outcome_selectors.action_agencies(referral) if recordable or outcome else [],
            "statuses": MaracAction.Status.choices,
            "previous": outcome_selectors.previous_meeting(referral),
            "links": perpetrators.perpetrator_links(user=request.user, referral=referral),
        }
    }


def queue_context(request: HttpRequest, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The supervisors' queue's overdue actions and the rows with a possible link."""
    return {
        "overdue_actions": outcomes.overdue_actions(user=request.user),
        "possible_links": perpetrators.possible_link_ids(row["referral"].pk for row in rows),
    }


@staff_required(supervisor=True)
def perpetrator_search(request: HttpRequest) -> HttpResponse:
    """Search by a perpetrator's name and date of birth (posted, so that no name is in a URL)."""
    context: dict[str, Any] = {"profile": request.staff, "searched": False}  # type: ignore[attr-defined]
    status = 200
    if request.method == "POST":
        try:
            context["results"] = perpetrators.perpetrator_search(
                user=request.user,
                name=request.POST.get("name", ""),
                date_of_birth=request.POST.get("date_of_birth", ""),
            )
            context["searched"] = True
        except services.RiskError as exc:
            context["error"], context["error_field"] = exc.message, exc.field
            status = 400
    return render(request, "risk/perpetrator_search.html", context, status=status)
