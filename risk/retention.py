"""How long a case is kept, and how it ends.

A case is due for review CASE_RETENTION_DAYS after its last activity: the newest of its opening,
a note, an incident, an assessment saved, a safeguarding decision, a transcript sealed, a
referral drafted or moved, a MARAC action agreed or marked, a chat attached, and the chats
themselves (a returning visitor's new chat is activity). Reading a case is not activity, so
looking at the review list never keeps a case alive. A supervisor then keeps it for longer
(with a reason), puts it on legal hold (with a reason), or erases it.

Erasure takes the whole case: the record, its notes, incidents, assessments, safeguarding
decisions, referrals with their transitions, its sealed transcript snapshots (and so their JSON
and PDF exports, which are made from them), the retention state, and the chats attached to no
other case with their whole log and their visitor's session. What stays: an entry in the register
of erasures (reference, dates, basis, the supervisor's reason, how many rows of each kind went),
the audit trail's events (which name no content), and the anonymous contact statistics of its
chats (chat.retention).

A legal hold stops erasure on request, at review and by the schedule. A case with a chat still
open is not erased (the advisor is still talking to the person).

Only supervisors list, hold, keep and erase; each of those is in the audit trail.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from agents import audit as audit_trail
from chat.models import Conversation
from chat.retention import conversations_erase, statistic_time, statistics_roll_up
from risk.models import (
    Assessment,
    CaseConversation,
    CaseErasure,
    CaseNote,
    CaseRecord,
    CaseRetention,
    Incident,
    MaracAction,
    Referral,
    ReferralTransition,
    RiskStatistic,
    SafeguardingDecision,
    TranscriptSnapshot,
)
from risk.selectors import is_supervisor
from risk.services import NotFound, RiskError, audit, case_for_user

REASON_MAX = 1000


def retention_days() -> int:
    return int(settings.RISK["CASE_RETENTION_DAYS"])


# --- Reads ------------------------------------------------------------------------------------


def _newest(queryset: QuerySet[Any], field: str) -> Subquery:
    return Subquery(queryset.order_by(f"-{field}").values(field)[:1], output_field=DateTimeField())


def with_last_activity(cases: QuerySet[CaseRecord]) -> QuerySet[CaseRecord]:
    """Annotate `last_activity` (see the module's header for what counts)."""
    case = OuterRef("pk")
    newest = [
        _newest(CaseNote.objects.filter(case=case), "created_at"),
        _newest(Incident.objects.filter(case=case), "recorded_at"),
        _newest(Assessment.objects.filter(case=case), "updated_at"),
        _newest(SafeguardingDecision.objects.filter(case=case), "recorded_at"),
        _newest(TranscriptSnapshot.objects.filter(case=case), "created_at"),
        _newest(Referral.objects.filter(case=case), "created_at"),
        _newest(ReferralTransition.objects.filter(referral__case=case), "at"),
        _newest(MaracAction.objects.filter(outcome__case=case), "created_at"),
        _newest(MaracAction.objects.filter(outcome__case=case), "status_at"),
        _newest(CaseConversation.objects.filter(case=case), "linked_at"),
        _newest(Conversation.objects.filter(case_links__case=case), "created_at"),
        _newest(Conversation.objects.filter(case_links__case=case, closed_at__isnull=False), "closed_at"),
    ]
    # SQLite's MAX() of several values is NULL when any is; PostgreSQL's GREATEST skips NULLs.
    return cases.annotate(last_activity=Greatest("created_at", *(Coalesce(n, F("created_at")) for n in newest)))


@dataclass(frozen=True)
class Retention:
    last_activity: datetime
    review_at: datetime
    hold: bool
    hold_reason: str
    keep_until: datetime | None
    keep_reason: str
    due: bool


def _review_at(last_activity: datetime, keep_until: datetime | None) -> datetime:
    review = last_activity + timedelta(days=retention_days())
    return max(review, keep_until) if keep_until else review


def case_retention(*, case: CaseRecord, now: datetime | None = None) -> Retention:
    """The retention of a case the caller has already reached through the gate (a case from
    `with_last_activity` brings its last activity along)."""
    now = now or timezone.now()
    last: datetime | None = getattr(case, "last_activity", None)
    if last is None:
        annotated = with_last_activity(CaseRecord.objects.filter(pk=case.pk))
        last = annotated.values_list("last_activity", flat=True).get()  # type: ignore[misc]
        assert last is not None
    state = CaseRetention.objects.filter(case=case).first()
    keep_until = state.keep_until if state else None
    review_at = _review_at(last, keep_until)
    hold = bool(state and state.hold)
    return Retention(
        last_activity=last,
        review_at=review_at,
        hold=hold,
        hold_reason=state.hold_reason if state else "",
        keep_until=keep_until,
        keep_reason=state.keep_reason if state else "",
        due=review_at <= now and not hold,
    )


def _due_queryset(now: datetime, *, past_by: timedelta = timedelta(0)) -> QuerySet[CaseRecord]:
    cutoff = now - timedelta(days=retention_days()) - past_by
    return (
        with_last_activity(CaseRecord.objects.all())
        .filter(last_activity__lte=cutoff)  # type: ignore[misc]
        .exclude(retention__hold=True)
        .exclude(retention__keep_until__gt=now - past_by)
    )


def cases_due(*, user: Any, now: datetime | None = None) -> list[tuple[CaseRecord, Retention]]:
    """The supervisors' review list: cases past their review date and not on hold, oldest
    first, then the cases on hold (so a supervisor sees what is being kept and why)."""
    if not is_supervisor(user):
        raise RiskError("forbidden", "Only a supervisor reviews the retention of cases.")
    now = now or timezone.now()
    audit(user=user, action="case.retention_list")
    rows = []
    due = _due_queryset(now).select_related("owner__staff", "retention").order_by("last_activity")
    for case in due[:500]:
        rows.append((case, case_retention(case=case, now=now)))
    held = with_last_activity(CaseRecord.objects.filter(retention__hold=True)).select_related(
        "owner__staff", "retention"
    )
    for case in held.order_by("last_activity")[:500]:
        rows.append((case, case_retention(case=case, now=now)))
    return rows


def case_erasures(*, user: Any) -> QuerySet[CaseErasure]:
    if not is_supervisor(user):
        raise RiskError("forbidden", "Only a supervisor sees the register of erasures.")
    return CaseErasure.objects.select_related("erased_by__staff")


# --- Changes ----------------------------------------------------------------------------------


def _reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise RiskError("reason_required", "Say why (without the person's details).")
    if len(reason.strip()) > REASON_MAX:
        raise RiskError("invalid", f"Keep the reason under {REASON_MAX} characters.")
    return reason.strip()


def _supervisor_case(user: Any, case_id: UUID | str) -> CaseRecord:
    """Through the gate (which records the access), then the role: advisors who may see the
    case are refused, and told so."""
    try:
        case = case_for_user(user=user, case_id=case_id, action="retention")
    except NotFound:
        try:
            valid = UUID(str(case_id))
        except ValueError:
            raise NotFound() from None
        if is_supervisor(user) and CaseErasure.objects.filter(case_id=valid).exists():
            raise RiskError("already_erased", "This case has already been erased.") from None
        raise
    if not is_supervisor(user):
        audit_trail.record_refusal(
            actor_id=user.pk, resource="case", attempt="retention", reason="forbidden", case_id=case.pk
        )
        raise RiskError("forbidden", "Only a supervisor can do this.")
    return case


def _locked_state(case: CaseRecord) -> CaseRetention:
    CaseRecord.objects.select_for_update().filter(pk=case.pk).get()
    state, _ = CaseRetention.objects.get_or_create(case=case)
    return CaseRetention.objects.select_for_update().get(pk=state.pk)


def case_hold_set(*, user: Any, case_id: UUID | str, reason: str) -> CaseRetention:
    """Put a case on legal hold: nothing erases it until the hold is released."""
    reason = _reason(reason)
    case = _supervisor_case(user, case_id)
    with transaction.atomic():
        state = _locked_state(case)
        if state.hold:
            raise RiskError("invalid_state", "This case is already on legal hold.")
        state.hold, state.hold_reason, state.hold_set_by_id, state.hold_set_at = True, reason, user.pk, timezone.now()
        state.due_since = None
        state.save()
        audit(user=user, action="case.hold", case=case)
    return state


def case_hold_release(*, user: Any, case_id: UUID | str, reason: str) -> CaseRetention:
    reason = _reason(reason)
    case = _supervisor_case(user, case_id)
    with transaction.atomic():
        state = _locked_state(case)
        if not state.hold:
            raise RiskError("invalid_state", "This case is not on legal hold.")
        state.hold, state.hold_reason, state.hold_set_by_id, state.hold_set_at = False, "", None, None
        state.save()
        audit(user=user, action="case.hold_release", case=case)
    return state


def case_keep(*, user: Any, case_id: UUID | str, until: datetime, reason: str) -> CaseRetention:
    """Reviewed and kept: the case is not due again before `until` (at most one retention
    period from now)."""
    reason = _reason(reason)
    now = timezone.now()
    if not isinstance(until, datetime) or timezone.is_naive(until):
        raise RiskError("invalid", "Give the date to keep it until.")
    if until <= now:
        raise RiskError("invalid", "Keep it until a date in the future.")
    if until > now + timedelta(days=retention_days() + 1):  # a day's slack: the form gives the day's end
        raise RiskError("invalid", f"Keep it for at most {retention_days()} days; review it again then.")
    case = _supervisor_case(user, case_id)
    with transaction.atomic():
        state = _locked_state(case)
        state.keep_until, state.keep_reason, state.kept_by_id, state.due_since = until, reason, user.pk, None
        state.save()
        audit(user=user, action="case.keep", case=case)
    return state


ERASE_BASES = (CaseErasure.Basis.REQUEST, CaseErasure.Basis.REVIEW)


def case_erase(
    *, user: Any, case_id: UUID | str, reason: str, confirm_reference: str, basis: str = CaseErasure.Basis.REQUEST
) -> CaseErasure:
    """Erase a case on request (the person asked) or at review (it is past its review date).
    The supervisor types the case's reference to confirm. Refused under legal hold and while
    one of its chats is open."""
    reason = _reason(reason)
    if basis not in ERASE_BASES:
        raise RiskError("invalid", "Say whether the person asked or the case was reviewed.")
    case = _supervisor_case(user, case_id)
    if not isinstance(confirm_reference, str) or confirm_reference.strip().upper() != case.reference:
        raise RiskError("confirm", f"Type the case reference {case.reference} to confirm the erasure.")
    if basis == CaseErasure.Basis.REVIEW and not case_retention(case=case).due:
        raise RiskError("not_due", "This case is not due for review: erase it only if the person asked.")
    return _erase(case, basis=basis, reason=reason, user=user)


def _erase(case: CaseRecord, *, basis: str, reason: str, user: Any | None) -> CaseErasure:
    statistics_roll_up()
    with transaction.atomic():
        locked = CaseRecord.objects.select_for_update().filter(pk=case.pk).first()
        if locked is None:
            raise RiskError("already_erased", "This case has already been erased.")
        if CaseRetention.objects.filter(case=locked, hold=True).exists():
            raise RiskError("on_hold", "This case is on legal hold: release the hold before erasing it.")
        links = CaseConversation.objects.filter(case=locked)
        conversation_ids = list(links.values_list("conversation_id", flat=True))
        conversations = Conversation.objects.select_for_update().filter(pk__in=conversation_ids).order_by("pk")
        if any(c.state != Conversation.State.CLOSED for c in conversations):
            raise RiskError("chat_open", "A chat of this case is still open: end it first.")
        own = [
            pk
            for pk in conversation_ids
            if not CaseConversation.objects.filter(conversation_id=pk).exclude(case=locked).exists()
        ]
        counts = {
            "conversations": len(own),
            "notes": CaseNote.objects.filter(case=locked).count(),
            "incidents": Incident.objects.filter(case=locked).count(),
            "assessments": Assessment.objects.filter(case=locked).count(),
            "safeguarding_decisions": SafeguardingDecision.objects.filter(case=locked).count(),
            "snapshots": TranscriptSnapshot.objects.filter(case=locked).count(),
            "referrals": Referral.objects.filter(case=locked).count(),
        }
        erasure = CaseErasure.objects.create(
            case_id=locked.pk,
            reference=locked.reference,
            opened_on=timezone.localdate(locked.created_at),
            basis=basis,
            reason=reason,
            erased_by_id=user.pk if user is not None else None,
            counts=counts,
        )
        if user is not None:
            audit(user=user, action=f"case.erase_{basis}", case=locked)
        _keep_risk_figures(locked)
        # Referrals and snapshots protect the case from an accidental delete: remove them first.
        Referral.objects.filter(case=locked).delete()
        TranscriptSnapshot.objects.filter(case=locked).delete()
        CaseRecord.objects.filter(pk=locked.pk).delete()
        conversations_erase(conversation_ids=own)
    return erasure


def _keep_risk_figures(case: CaseRecord) -> None:
    """The reports' risk figures outlive the case, anonymously (risk.models.RiskStatistic)."""
    group = uuid4()
    rows = [
        RiskStatistic(kind=RiskStatistic.Kind.ASSESSMENT, at=statistic_time(created_at), group=group, level=level)
        for created_at, level in Assessment.objects.filter(case=case).values_list("created_at", "level")
    ]
    submitted = (
        Referral.objects.filter(case=case, kind=Referral.Kind.MARAC, submitted_at__isnull=False)
        .exclude(state=Referral.State.WITHDRAWN)
        .values_list("submitted_at", "criteria")
    )
    rows += [
        RiskStatistic(kind=RiskStatistic.Kind.REFERRAL, at=statistic_time(at), group=group, criteria=list(criteria))
        for at, criteria in submitted
        if at is not None
    ]
    RiskStatistic.objects.bulk_create(rows)


def cases_retention_review(*, now: datetime | None = None) -> dict[str, int]:
    """The scheduled review: note when each case became due (the review list shows it) and, if
    the deployment opted in with CASE_AUTO_ERASE, erase those past their review date by
    CASE_ERASE_GRACE_DAYS with no hold. Idempotent; a case refused (a chat open again) is
    left for the next run."""
    now = now or timezone.now()
    due_ids = set(_due_queryset(now).values_list("pk", flat=True))
    flagged = 0
    for case_id in due_ids:
        state, _ = CaseRetention.objects.get_or_create(case_id=case_id)
        if state.due_since is None:
            flagged += CaseRetention.objects.filter(pk=state.pk, due_since__isnull=True).update(due_since=now)
    CaseRetention.objects.filter(due_since__isnull=False).exclude(case_id__in=due_ids).update(due_since=None)
    erased = 0
    if settings.RISK["CASE_AUTO_ERASE"]:
        grace = timedelta(days=int(settings.RISK["CASE_ERASE_GRACE_DAYS"]))
        for case in list(_due_queryset(now, past_by=grace)):
            try:
                _erase(
                    case,
                    basis=CaseErasure.Basis.SCHEDULE,
                    reason=f"Past its review date by more than {grace.days} days, with no hold.",
                    user=None,
                )
                erased += 1
            except RiskError:
                continue
    return {"due": len(due_ids), "flagged": flagged, "erased": erased}
