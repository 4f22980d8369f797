"""Reads for the risk pages, the checklist API and the services' own checks.

Nothing here changes a row or writes the audit trail. A view first reaches its record through the
gate in risk.services (which audits the access), then reads around that record here; the queries
that decide what someone may see (`visible_cases`, `visible_referrals`) are the ones the gate
itself is built on.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from agents.audit_models import AuditEvent
from agents.models import StaffProfile
from chat.models import Message
from risk import agencies, scoring
from risk.assessment_detail import assessment_detail
from risk.checklist import definition
from risk.filters import CRITERION_LABELS
from risk.models import Assessment, CaseRecord, Referral, ReferralTransition

# How many rows a page lists at most.
CASE_AUDIT_ROWS = 200
REFERRAL_CHAT_LINES = 300
QUEUE_ROWS = 500


# What a referral of each kind is called, and the case page's button that drafts one.
REFERRAL_KINDS = [
    (Referral.Kind.MARAC.value, "MARAC referral"),
    (Referral.Kind.IDVA.value, "IDVA referral"),
    (Referral.Kind.MASH.value, "Children's safeguarding (MASH) referral"),
    (Referral.Kind.POLICE.value, "Police report"),
]
KIND_TITLES = dict(REFERRAL_KINDS)
DRAFT_LABELS = {
    "marac": "Draft a MARAC referral",
    "idva": "Draft an IDVA referral",
    "mash": "Draft a children's safeguarding (MASH) referral",
    "police": "Draft a police report",
}


def is_supervisor(user: Any) -> bool:
    return StaffProfile.objects.filter(user_id=user.pk, role=StaffProfile.Role.SUPERVISOR).exists()


def visible_cases(user: Any) -> QuerySet[CaseRecord]:
    """Advisors see their own cases and those shared with them; supervisors see all."""
    if not getattr(user, "is_authenticated", False) or not StaffProfile.objects.filter(user_id=user.pk).exists():
        return CaseRecord.objects.none()
    if is_supervisor(user):
        return CaseRecord.objects.all()
    return CaseRecord.objects.filter(Q(owner_id=user.pk) | Q(shared_with__id=user.pk)).distinct()


def visible_referrals(user: Any) -> QuerySet[Referral]:
    return Referral.objects.filter(case__in=visible_cases(user))


def case_for_conversation(*, user: Any, conversation_id: UUID | str) -> CaseRecord | None:
    """The case this conversation is attached to, if this user may see it."""
    return visible_cases(user).filter(conversation_links__conversation_id=conversation_id).first()


def assessment_for_conversation(*, case: CaseRecord, conversation_id: UUID | str) -> Assessment | None:
    """The assessment started in this conversation, else the case's latest one."""
    return case.assessments.filter(conversation_id=conversation_id).first() or case.assessments.first()


def _last_referral_on(case: CaseRecord) -> date | None:
    submitted = (
        Referral.objects.filter(case=case, submitted_at__isnull=False)
        .exclude(state=Referral.State.WITHDRAWN)
        .order_by("-submitted_at")
        .values_list("submitted_at", flat=True)
        .first()
    )
    return timezone.localdate(submitted) if submitted else None


def evaluation(assessment: Assessment) -> scoring.Evaluation:
    """The score, level and referral criteria of an assessment as it stands today, and what its
    answers call for (prompts, the children's safeguarding)."""
    incidents = list(assessment.case.incidents.values_list("occurred_on", "reported_to_police"))
    return scoring.evaluate(
        answers=assessment.answers,
        checklist=definition(assessment.version),
        judgement_high=assessment.judgement_high,
        incident_dates=[occurred_on for occurred_on, _ in incidents],
        police_incident_dates=[occurred_on for occurred_on, police in incidents if police],
        last_referral_on=_last_referral_on(assessment.case),
        professional=assessment.professional,
        safeguarding_recorded=assessment.case.safeguarding_decisions.exists(),
        today=timezone.localdate(),
    )


def safeguarding_latest(case: CaseRecord) -> dict[str, Any] | None:
    """The case's latest safeguarding decision, as the console shows it."""
    decision = case.safeguarding_decisions.select_related("recorded_by__staff").order_by("-recorded_at", "-pk").first()
    if decision is None:
        return None
    profile = getattr(decision.recorded_by, "staff", None)
    return {
        "needed": decision.needed,
        "decided_on": decision.decided_on.isoformat(),
        "reason": decision.reason,
        "recorded_by": profile.display_name if profile else decision.recorded_by.get_username(),
    }


def case_overview(*, case: CaseRecord, supervisor: bool) -> dict[str, Any]:
    """Everything the case page lists about a case; the audit trail for supervisors only."""
    return {
        "links": case.conversation_links.select_related("conversation"),
        "assessments": [(a, assessment_detail(a, evaluation(a))) for a in case.assessments.all()],
        "snapshots": case.snapshots.all(),
        "referrals": [(r, KIND_TITLES.get(r.kind, r.kind)) for r in case.referrals.select_related("repeat_of")],
        "referral_kinds": referral_destinations(case),
        "incidents": case.incidents.all(),
        "safeguarding": case.safeguarding_decisions.select_related("recorded_by__staff"),
        "notes": case.notes.select_related("author__staff"),
        "audit": case_audit(case) if supervisor else None,
        # Return phrases (never their words: only hashes are kept), with how many chats each linked.
        "return_phrases": case.return_phrases.select_related("issued_by__staff", "revoked_by__staff").annotate(
            linked=Count("uses")
        ),
    }


def referral_destinations(case: CaseRecord) -> list[dict[str, Any]]:
    """Each kind of referral the case page offers to draft, with where it would go (None when
    the directory has no agency of that kind for the case's area)."""
    return [
        {"kind": kind, "title": title, "button": DRAFT_LABELS[kind], "agency": agencies.destination(case, kind)}
        for kind, title in REFERRAL_KINDS
    ]


@dataclass(frozen=True)
class AuditRow:
    """An event of a case's audit trail as its page lists it, with the referral it names (None
    when it names none, or names one that is gone)."""

    at: datetime
    actor: Any
    action: str
    referral: Referral | None
    detail: dict[str, Any]


def case_audit(case: CaseRecord) -> list[AuditRow]:
    """The case's last events, newest first. Events name records by id only, so the referrals
    they name are read here, at once."""
    events = list(AuditEvent.objects.filter(case_id=case.pk).select_related("actor").order_by("-seq")[:CASE_AUDIT_ROWS])
    named = Referral.objects.in_bulk({event.referral_id for event in events if event.referral_id is not None})
    return [
        AuditRow(
            at=event.at,
            actor=event.actor,
            action=event.action,
            referral=named.get(event.referral_id) if event.referral_id is not None else None,
            detail=event.detail,
        )
        for event in events
    ]


def case_messages(case: CaseRecord) -> QuerySet[Message]:
    """The chat lines of a case's conversations that may be quoted as excerpts (no notes)."""
    return Message.objects.filter(conversation__case_links__case=case, kind=Message.Kind.TEXT).order_by(
        "conversation__created_at", "seq"
    )


def referral_chat_lines(referral: Referral) -> list[Message]:
    """The lines the referral form offers as excerpts."""
    return list(case_messages(referral.case)[:REFERRAL_CHAT_LINES])


def referral_history(referral: Referral) -> QuerySet[ReferralTransition]:
    return referral.transitions.select_related("by__staff")


def referral_queue_rows(queue: QuerySet[Referral], *, now: datetime) -> list[dict[str, Any]]:
    """The queue page's rows: each referral with whether its review is overdue and its age."""
    return [
        {
            "referral": r,
            "overdue": bool(
                r.due_at and r.due_at < now and r.state in (Referral.State.SUBMITTED, Referral.State.UNDER_REVIEW)
            ),
            "age_days": (now - (r.submitted_at or r.created_at)).days,
            "criteria": ", ".join(CRITERION_LABELS.get(key, key) for key in r.criteria),
            "kind": KIND_TITLES.get(r.kind, r.kind),
        }
        for r in queue.select_related("repeat_of", "created_by__staff")[:QUEUE_ROWS]
    ]
