"""Reads of MARAC meeting outcomes and their actions, for the referral page, the supervisors'
queue and a repeat referral. Nothing here changes a row or writes the audit trail: callers reach
the referral through the gate (risk.referrals.referral_for_user) first."""

from datetime import date

from django.db.models import QuerySet

from risk.agency_models import Agency
from risk.models import CaseRecord, Referral
from risk.outcome_models import MaracAction, MeetingOutcome


def referral_outcome(referral: Referral) -> MeetingOutcome | None:
    """The outcome recorded for this referral, with its actions, if the meeting has heard it."""
    return (
        MeetingOutcome.objects.filter(referral=referral)
        .select_related("recorded_by__staff")
        .prefetch_related("actions")
        .first()
    )


def previous_meeting(referral: Referral) -> MeetingOutcome | None:
    """The meeting outcome a repeat referral follows: that of the referral it repeats, else the
    latest one recorded for an earlier referral of the same case."""
    outcomes = MeetingOutcome.objects.select_related("referral").prefetch_related("actions")
    if referral.repeat_of_id is not None:
        earlier = outcomes.filter(referral_id=referral.repeat_of_id).first()
        if earlier is not None:
            return earlier
    return (
        outcomes.filter(case_id=referral.case_id, referral__created_at__lt=referral.created_at)
        .exclude(referral=referral)
        .order_by("-heard_on", "-recorded_at")
        .first()
    )


def latest_case_meeting(case: CaseRecord) -> MeetingOutcome | None:
    """The case's latest meeting outcome (a new referral's form names it as an earlier MARAC)."""
    return (
        MeetingOutcome.objects.filter(case=case)
        .select_related("referral")
        .prefetch_related("actions")
        .order_by("-heard_on", "-recorded_at")
        .first()
    )


def previous_meeting_text(outcome: MeetingOutcome) -> str:
    """A line for the form's "earlier MARACs" field: the reference, the date and the actions."""
    actions = list(outcome.actions.all())
    done = sum(1 for a in actions if a.status == MaracAction.Status.DONE)
    listed = "; ".join(f"{a.agency_name}: {a.description} ({a.get_status_display().lower()})" for a in actions)
    return (
        f"{outcome.referral.reference} heard {outcome.heard_on.isoformat()}: {len(actions)} action(s), {done} done"
        + (f". {listed}" if listed else "")
    )[:4000]


def overdue_actions(*, today: date, limit: int) -> QuerySet[MaracAction]:
    """Open actions past their due date, oldest due first."""
    return (
        MaracAction.objects.filter(status=MaracAction.Status.OPEN, due_on__lt=today)
        .select_related("outcome__referral__case", "agency")
        .order_by("due_on", "pk")[:limit]
    )


def action_agencies(referral: Referral) -> list[Agency]:
    """The agencies an action may be given to: the active ones of the directory, those of the
    referral's area first."""
    agencies = list(Agency.objects.filter(active=True).select_related("area"))
    return sorted(agencies, key=lambda a: (a.area.name.lower() != referral.area.strip().lower(), a.area.name, a.name))
