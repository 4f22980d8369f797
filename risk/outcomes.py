"""Every change to a MARAC meeting's outcome and its actions.

A supervisor records the outcome of a MARAC referral when the meeting has heard it: the date,
what was decided and the actions agreed, each owned by an agency (of the directory, or named in
words when it is not in it) and due by a date. Recording it moves a listed referral to heard in
the same transaction; a referral already heard (with a reason only) can have its outcome
recorded once, later. Afterwards actions are added and marked done or not done. Each change is
in the case's audit trail; a refusal leaves nothing behind.
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from agents import audit as audit_trail
from risk import outcome_selectors, referrals
from risk.agency_models import Agency
from risk.models import Referral
from risk.outcome_models import MaracAction, MeetingOutcome
from risk.selectors import is_supervisor
from risk.services import NotFound, RiskError, audit

SUMMARY_MAX = 4000
DESCRIPTION_MAX = 2000
AGENCY_NAME_MAX = 150
ACTIONS_MAX = 30
ID = re.compile(r"[0-9]{1,18}")
# The supervisors' queue lists this many overdue actions at most.
OVERDUE_SHOWN = 100


@dataclass(frozen=True)
class ActionInput:
    """An action as a supervisor gives it: `agency_id` of the directory, or `agency_name` in
    words when the agency is not in it."""

    description: str
    due_on: date | None
    agency_id: int | None = None
    agency_name: str = ""


def row_id(value: int | str | None) -> int | None:
    """A row's id as given in a form, or None when it is not one (the database's range)."""
    text = str(value) if value is not None else ""
    return int(text) if ID.fullmatch(text) else None


def _supervisor_referral(*, user: Any, referral_id: UUID | str, attempt: str) -> Referral:
    """Through the referral's gate (which audits the access), then the role."""
    referral = referrals.referral_for_user(user=user, referral_id=referral_id, action=attempt)
    if not is_supervisor(user):
        audit_trail.record_refusal(
            actor_id=user.pk,
            resource="referral",
            attempt=attempt,
            reason="forbidden",
            case_id=referral.case_id,
            referral_id=referral.pk,
        )
        raise RiskError("forbidden", "Only a supervisor records a meeting's outcome and its actions.")
    if referral.kind != Referral.Kind.MARAC:
        raise RiskError("invalid", "Only a MARAC referral is heard at a meeting.")
    return referral


def _checked_action(action: ActionInput, *, index: int, heard_on: date) -> tuple[Agency | None, str, str, date]:
    where = f"Action {index}"
    description = action.description.strip()
    if not description:
        raise RiskError("invalid", f"{where}: say what is to be done.")
    if len(description) > DESCRIPTION_MAX:
        raise RiskError("invalid", f"{where}: keep the action under {DESCRIPTION_MAX} characters.")
    if action.due_on is None:
        raise RiskError("invalid", f"{where}: give the date it is due by.")
    if action.due_on < heard_on:
        raise RiskError("invalid", f"{where}: it cannot be due before the meeting ({heard_on.isoformat()}).")
    agency = None
    name = action.agency_name.strip()
    if action.agency_id is not None:
        agency = Agency.objects.filter(pk=action.agency_id, active=True).first()
        if agency is None:
            raise RiskError("invalid", f"{where}: that agency is not in the directory.")
        name = agency.name
    if not name:
        raise RiskError("invalid", f"{where}: choose the agency that owns it, or name it.")
    if len(name) > AGENCY_NAME_MAX:
        raise RiskError("invalid", f"{where}: keep the agency's name under {AGENCY_NAME_MAX} characters.")
    return agency, name, description, action.due_on


def _create_action(*, user: Any, outcome: MeetingOutcome, checked: tuple[Agency | None, str, str, date]) -> MaracAction:
    agency, name, description, due_on = checked
    action = MaracAction.objects.create(
        outcome=outcome, agency=agency, agency_name=name, description=description, due_on=due_on, created_by_id=user.pk
    )
    audit(
        user=user,
        action="outcome.action_add",
        case=outcome.referral.case,
        referral=outcome.referral,
        meeting_outcome=outcome.pk,
        marac_action=action.pk,
    )
    return action


def outcome_record(
    *, user: Any, referral_id: UUID | str, heard_on: date, summary: str, actions: list[ActionInput]
) -> MeetingOutcome:
    """Record what the meeting decided for a listed (or already heard) MARAC referral, with its
    actions; a listed referral becomes heard with the summary as the reason."""
    referral = _supervisor_referral(user=user, referral_id=referral_id, attempt="outcome_record")
    summary = summary.strip()
    if not summary:
        raise RiskError("reason_required", "Say what the meeting decided.")
    if len(summary) > SUMMARY_MAX:
        raise RiskError("invalid", f"Keep the outcome under {SUMMARY_MAX} characters.")
    if heard_on > timezone.localdate():
        raise RiskError("invalid", "The meeting cannot be in the future.")
    if len(actions) > ACTIONS_MAX:
        raise RiskError("invalid", f"At most {ACTIONS_MAX} actions at once.")
    checked = [_checked_action(a, index=n, heard_on=heard_on) for n, a in enumerate(actions, start=1)]
    try:
        with transaction.atomic():
            locked = Referral.objects.select_for_update().select_related("case").get(pk=referral.pk)
            if MeetingOutcome.objects.filter(referral=locked).exists():
                raise RiskError("invalid_state", "This referral's outcome is recorded already: add actions to it.")
            if locked.state == Referral.State.LISTED:
                locked = referrals.referral_transition(
                    user=user, referral_id=locked.pk, to_state=Referral.State.HEARD, reason=summary, outcome=summary
                )
            elif locked.state not in (Referral.State.HEARD, Referral.State.CLOSED):
                raise RiskError("invalid_state", "A referral's outcome is recorded once it is listed for a meeting.")
            outcome = MeetingOutcome.objects.create(
                referral=locked, case=locked.case, heard_on=heard_on, summary=summary, recorded_by_id=user.pk
            )
            audit(user=user, action="outcome.record", case=locked.case, referral=locked, meeting_outcome=outcome.pk)
            for one in checked:
                _create_action(user=user, outcome=outcome, checked=one)
    except IntegrityError:
        raise RiskError("invalid_state", "This referral's outcome is recorded already: add actions to it.") from None
    return outcome


def action_add(*, user: Any, referral_id: UUID | str, action: ActionInput) -> MaracAction:
    """Another action agreed for a referral whose outcome is recorded."""
    referral = _supervisor_referral(user=user, referral_id=referral_id, attempt="outcome_change")
    outcome = MeetingOutcome.objects.filter(referral=referral).select_related("referral__case").first()
    if outcome is None:
        raise RiskError("invalid_state", "Record the meeting's outcome first.")
    if outcome.actions.count() >= ACTIONS_MAX * 2:
        raise RiskError("invalid", "This outcome has as many actions as it can hold.")
    checked = _checked_action(action, index=outcome.actions.count() + 1, heard_on=outcome.heard_on)
    with transaction.atomic():
        return _create_action(user=user, outcome=outcome, checked=checked)


def action_status_set(*, user: Any, action_id: int | str, status: str) -> MaracAction:
    """Mark an action done, not done, or open again."""
    if status not in MaracAction.Status.values:
        raise RiskError("invalid", f"An action is {', '.join(MaracAction.Status.values)}.")
    pk = row_id(action_id)
    found = None
    if pk is not None:
        found = MaracAction.objects.filter(pk=pk).values_list("outcome__referral_id", flat=True).first()
    if pk is None or found is None:
        audit_trail.record_refusal(actor_id=user.pk, resource="marac_action", attempt="change", requested=action_id)
        raise NotFound()
    referral = _supervisor_referral(user=user, referral_id=found, attempt="outcome_change")
    with transaction.atomic():
        action = MaracAction.objects.select_for_update().get(pk=pk)
        if action.status != status:
            action.status = status
            action.status_at = None if status == MaracAction.Status.OPEN else timezone.now()
            action.status_by_id = None if status == MaracAction.Status.OPEN else user.pk
            action.save(update_fields=["status", "status_at", "status_by"])
        audit(
            user=user,
            action="outcome.action_status",
            case=referral.case,
            referral=referral,
            marac_action=action.pk,
            status=status,
        )
    return action


def overdue_actions(*, user: Any) -> QuerySet[MaracAction]:
    """The supervisors' list of open actions past their due date (audited: it names cases)."""
    if not is_supervisor(user):
        audit_trail.record_refusal(actor_id=user.pk, resource="marac_action", attempt="overdue_read")
        raise NotFound()
    rows = outcome_selectors.overdue_actions(today=timezone.localdate(), limit=OVERDUE_SHOWN)
    audit(user=user, action="outcome.overdue_read", matches=len(rows))
    return rows
