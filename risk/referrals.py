"""Referrals of each kind (MARAC, IDVA, children's safeguarding, police): drafted from a case and
its assessment on the current form of their kind and area (risk.form_versions), edited while a
draft (or returned), then moved through the states of their kind (`transitions_for`) by the
referrer or a supervisor; each change is audited and announced to the staff concerned once
committed. `referral_for_user` is the gate to a
referral, as `case_for_user` is to a case.
"""

from datetime import date, datetime, timedelta
from typing import Any, NoReturn
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from agents import audit as audit_trail
from agents.services import staff_group
from chat.engine import events
from risk import agencies, form_versions, outcome_selectors, perpetrators, referral_prefill
from risk.models import Referral, ReferralTransition, TranscriptSnapshot, referral_reference_for
from risk.selectors import case_messages, evaluation, is_supervisor, visible_referrals
from risk.services import NotFound, RiskError, audit, case_for_user, valid_uuid


def referral_for_user(*, user: Any, referral_id: UUID | str, action: str = "read") -> Referral:
    valid = valid_uuid(referral_id)
    referral = visible_referrals(user).select_related("case").filter(pk=valid).first() if valid else None
    if referral is None:
        _refuse_referral(user=user, referral_id=referral_id, attempt=action)
    audit(user=user, action=f"referral.{action}", case=referral.case, referral=referral)
    return referral


def _refuse_referral(
    *, user: Any, referral_id: UUID | str, attempt: str, reason: str = "not_found", message: str = ""
) -> NoReturn:
    valid = valid_uuid(referral_id)
    known = Referral.objects.filter(pk=valid).values_list("case_id", flat=True).first() if valid else None
    audit_trail.record_refusal(
        actor_id=user.pk,
        resource="referral",
        attempt=attempt,
        requested=referral_id,
        reason=reason,
        case_id=known,
        referral_id=valid if known else None,
    )
    raise NotFound() if reason == "not_found" else RiskError(reason, message)


Moves = dict[str, dict[str, str]]
# The states a referrer may withdraw from: up to its acceptance (a MARAC one also once listed).
UP_TO_ACCEPTED = (
    Referral.State.DRAFT,
    Referral.State.SUBMITTED,
    Referral.State.UNDER_REVIEW,
    Referral.State.RETURNED,
    Referral.State.ACCEPTED,
)
# to_state: {from_state: who} where who is "owner" or "supervisor". A MARAC referral is listed
# for a meeting and heard there; the other kinds are reviewed here and then sent to the agency.
MARAC_TRANSITIONS: Moves = {
    Referral.State.SUBMITTED: {Referral.State.DRAFT: "owner", Referral.State.RETURNED: "owner"},
    Referral.State.UNDER_REVIEW: {Referral.State.SUBMITTED: "supervisor"},
    Referral.State.RETURNED: {Referral.State.UNDER_REVIEW: "supervisor", Referral.State.SUBMITTED: "supervisor"},
    Referral.State.ACCEPTED: {Referral.State.UNDER_REVIEW: "supervisor"},
    Referral.State.LISTED: {Referral.State.ACCEPTED: "supervisor"},
    Referral.State.HEARD: {Referral.State.LISTED: "supervisor"},
    Referral.State.CLOSED: {Referral.State.HEARD: "supervisor"},
    Referral.State.WITHDRAWN: {state: "owner" for state in (*UP_TO_ACCEPTED, Referral.State.LISTED)},
}
AGENCY_TRANSITIONS: Moves = {
    **{
        to: sources for to, sources in MARAC_TRANSITIONS.items() if to not in ("listed", "heard", "closed", "withdrawn")
    },
    Referral.State.SENT: {Referral.State.ACCEPTED: "supervisor"},
    Referral.State.CLOSED: {Referral.State.SENT: "supervisor"},
    Referral.State.WITHDRAWN: {state: "owner" for state in UP_TO_ACCEPTED},
}
TRANSITIONS_BY_KIND: dict[str, Moves] = {
    Referral.Kind.MARAC: MARAC_TRANSITIONS,
    Referral.Kind.IDVA: AGENCY_TRANSITIONS,
    Referral.Kind.MASH: AGENCY_TRANSITIONS,
    Referral.Kind.POLICE: AGENCY_TRANSITIONS,
}
# The MARAC referral's, as before referrals had kinds.
TRANSITIONS = MARAC_TRANSITIONS


def transitions_for(kind: str) -> Moves:
    return TRANSITIONS_BY_KIND.get(kind, MARAC_TRANSITIONS)


def review_due_working_days(kind: str) -> int:
    """How many working days a submitted referral of `kind` has for its review (settings.RISK)."""
    by_kind = settings.RISK.get("REFERRAL_DUE_WORKING_DAYS", {})
    return int(by_kind.get(kind, settings.RISK["REVIEW_DUE_WORKING_DAYS"]))


REASON_REQUIRED = {Referral.State.RETURNED, Referral.State.WITHDRAWN, Referral.State.HEARD}
EDITABLE_STATES = (Referral.State.DRAFT, Referral.State.RETURNED)


def _may_act(*, user: Any, referral: Referral, who: str, supervisor: bool) -> bool:
    """`who` is "owner" (the referrer, or any supervisor) or "supervisor"."""
    return supervisor or (who == "owner" and referral.created_by_id == user.pk)


def referral_moves(*, user: Any, referral: Referral) -> list[str]:
    """The states this user may move this referral to now, in the order of its kind's transitions; the
    referral page offers exactly these and `referral_transition` refuses any other."""
    supervisor = is_supervisor(user)
    return [
        to_state
        for to_state, sources in transitions_for(referral.kind).items()
        if referral.state in sources
        and _may_act(user=user, referral=referral, who=sources[referral.state], supervisor=supervisor)
    ]


def referral_editable(*, user: Any, referral: Referral) -> bool:
    """Whether this user may change the form now: a draft or a returned referral, by its
    referrer or a supervisor. The page shows the form only then; `referral_update` checks it."""
    return referral.state in EDITABLE_STATES and _may_act(
        user=user, referral=referral, who="owner", supervisor=is_supervisor(user)
    )


def working_days_after(start: datetime, days: int) -> datetime:
    moment = start
    added = 0
    while added < days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment


def referral_draft(
    *,
    user: Any,
    case_id: UUID | str,
    assessment_id: int | None = None,
    excerpt_seqs: list[int] | None = None,
    kind: str = Referral.Kind.MARAC,
) -> Referral:
    """A new draft of `kind` from the case, addressed to the agency of that kind in the case's area
    when the directory has one (else to be chosen before it is delivered)."""
    if kind not in Referral.Kind.values:
        raise RiskError("invalid", f"A referral's kind is one of {list(Referral.Kind.values)}.")
    case = case_for_user(user=user, case_id=case_id, action="change")
    agency = agencies.destination(case, kind)
    version = form_versions.current_version(kind, agency.area if agency else agencies.area_for_case(case))
    shape = form_versions.definition_of(kind=kind, version=version)
    assessment = case.assessments.filter(pk=assessment_id).first() if assessment_id else case.assessments.first()
    result = evaluation(assessment) if assessment else None
    known = referral_prefill.referral_form_template(case=case, user=user, assessment=assessment, result=result)
    form = form_versions.form_build(shape, known)
    if excerpt_seqs and "excerpts" in shape.get("parts", []):
        link = case.conversation_links.select_related("conversation").first()
        if link:
            form["risk_summary"]["excerpts"] = [
                {"seq": m.seq, "from": m.sender_kind, "text": m.text}
                for m in link.conversation.messages.filter(seq__in=excerpt_seqs, kind="text").order_by("seq")
            ]
    previous = outcome_selectors.latest_case_meeting(case)
    if previous is not None and form.get("safety", {}).get("earlier_maracs", "") is None:
        form["safety"]["earlier_maracs"] = outcome_selectors.previous_meeting_text(previous)
    referral = Referral.objects.create(
        reference=referral_reference_for(kind),
        case=case,
        kind=kind,
        agency=agency,
        assessment=assessment,
        area=agency.area.name if agency else case.area,
        form=form,
        form_version=version,
        # The case's latest sealed transcript when the form requires one (the page may change it);
        # where it is optional the advisor chooses to attach it: share no more than needed.
        snapshot=case.snapshots.first() if shape.get("transcript") == "required" else None,
        created_by_id=user.pk,
        criteria=[c["key"] for c in (result.criteria if result else [])],
        score=result.score if result else 0,
    )
    audit(user=user, action="referral.draft", case=case, referral=referral)
    return referral


def referral_update(
    *,
    user: Any,
    referral_id: UUID | str,
    form: dict[str, Any] | None = None,
    urgent: bool | None = None,
    area: str | None = None,
    excerpt_ids: list[int] | None = None,
    snapshot_id: UUID | str | None = None,
) -> Referral:
    """Change a draft or returned referral: its form (checked against the form it was drafted
    on), urgency, area, excerpts and (for a form that attaches one) which sealed transcript of
    the case is attached."""
    referral = referral_for_user(user=user, referral_id=referral_id, action="change")
    if referral.state not in EDITABLE_STATES:
        raise RiskError("invalid_state", "Only a draft or a returned referral can be edited.")
    if not referral_editable(user=user, referral=referral):
        _refuse_referral(user=user, referral_id=referral.pk, attempt="change")
    shape = form_versions.definition_of(kind=referral.kind, version=referral.form_version)
    consent_before, snapshot_before = _consent(referral), referral.snapshot_id
    if form is not None:
        referral.form = form_versions.apply_patch(shape, referral.form, form)
    if snapshot_id is not None:
        referral.snapshot = _attachable_snapshot(referral=referral, shape=shape, snapshot_id=snapshot_id)
    if urgent is not None:
        referral.urgent = urgent
    if area is not None:
        referral.area = area[:100]
    if excerpt_ids is not None and "risk_summary" in referral.form:
        chosen = case_messages(referral.case).filter(pk__in=excerpt_ids)
        if len(set(excerpt_ids)) != chosen.count():
            raise RiskError("invalid", "An excerpt must be a message of one of this case's chats.")
        referral.form["risk_summary"]["excerpts"] = [
            {"id": m.pk, "seq": m.seq, "from": m.sender_kind, "text": m.text} for m in chosen
        ]
    with transaction.atomic():
        referral.save()
        if form is not None:
            perpetrators.perpetrator_keys_refresh(referral=referral)
        audit(user=user, action="referral.update", case=referral.case, referral=referral)
        # Consent and the transcript attached are what a police report rests on: each change is
        # its own event on the trail.
        consent = _consent(referral)
        if consent != consent_before and "yes" in (consent, consent_before):
            action = "referral.consent_given" if consent == "yes" else "referral.consent_withdrawn"
            audit(user=user, action=action, case=referral.case, referral=referral)
        if referral.snapshot_id != snapshot_before:
            attached = referral.snapshot
            details = {"snapshot": str(attached.pk), "sha256": attached.sha256} if attached else {}
            action = "referral.transcript_attached" if attached else "referral.transcript_removed"
            audit(user=user, action=action, case=referral.case, referral=referral, **details)
    return referral


def _consent(referral: Referral) -> Any:
    return (referral.form.get("consent") or {}).get("consent_given")


def _attachable_snapshot(
    *, referral: Referral, shape: dict[str, Any], snapshot_id: UUID | str
) -> TranscriptSnapshot | None:
    """The case's sealed transcript to attach ("" attaches none); another case's is refused."""
    if str(snapshot_id) == "":
        return None
    valid = valid_uuid(snapshot_id)
    snapshot = TranscriptSnapshot.objects.filter(case=referral.case, pk=valid).first() if valid else None
    if shape.get("transcript", "none") == "none" or snapshot is None:
        raise RiskError("invalid", "Attach a sealed transcript of this case's chats.", "snapshot")
    return snapshot


def referral_transition(
    *,
    user: Any,
    referral_id: UUID | str,
    to_state: str,
    reason: str = "",
    meeting_on: date | None = None,
    outcome: str = "",
) -> Referral:
    referral = referral_for_user(user=user, referral_id=referral_id, action="transition")
    allowed = transitions_for(referral.kind).get(to_state, {})
    who = allowed.get(referral.state)
    if who is None:
        raise RiskError("invalid_state", f"A {referral.get_state_display().lower()} referral cannot become {to_state}.")
    if to_state not in referral_moves(user=user, referral=referral):
        _refuse_referral(
            user=user,
            referral_id=referral.pk,
            attempt=to_state,
            reason="forbidden",
            message="Only a supervisor can do this."
            if who == "supervisor"
            else "Only the referrer or a supervisor can do this.",
        )
    if to_state in REASON_REQUIRED and not reason.strip():
        raise RiskError("reason_required", "Say why.")
    if to_state == Referral.State.SUBMITTED:
        shape = form_versions.definition_of(kind=referral.kind, version=referral.form_version)
        problems = form_versions.submit_problems(
            shape, referral.form, transcript_attached=referral.snapshot_id is not None
        )
        if problems:
            raise RiskError("incomplete", " ".join(problems))
    if to_state == Referral.State.LISTED and meeting_on is None:
        raise RiskError("invalid", "A listed referral needs the meeting date.")
    now = timezone.now()
    with transaction.atomic():
        referral = Referral.objects.select_for_update().select_related("case").get(pk=referral.pk)
        previous = referral.state
        referral.state = to_state
        if to_state == Referral.State.SUBMITTED:
            referral.submitted_at = now
            referral.due_at = working_days_after(now, review_due_working_days(referral.kind))
            earlier = (
                # A repeat is of the same kind: an earlier IDVA referral makes no repeat MARAC.
                Referral.objects.filter(
                    case=referral.case, kind=referral.kind, submitted_at__gte=now - timedelta(days=365)
                )
                .exclude(pk=referral.pk)
                .exclude(state__in=(Referral.State.WITHDRAWN, Referral.State.DRAFT))
                .order_by("-submitted_at")
                .first()
            )
            if earlier is not None:
                referral.repeat_of = earlier
                if "criteria" in referral.form:
                    referral.form["criteria"]["repeat"] = {"met": True, "previous_reference": earlier.reference}
                if "repeat" not in referral.criteria:
                    referral.criteria = [*referral.criteria, "repeat"]
        if meeting_on is not None:
            referral.meeting_on = meeting_on
        if outcome:
            referral.outcome = outcome[:4000]
        referral.save()
        ReferralTransition.objects.create(
            referral=referral, from_state=previous, to_state=to_state, by_id=user.pk, reason=reason[:4000]
        )
        audit(user=user, action=f"referral.{to_state}", case=referral.case, referral=referral)
        notice = {
            "referral_id": str(referral.pk),
            "reference": referral.reference,
            "state": to_state,
            "urgent": referral.urgent,
        }
        outgoing: list[events.Event] = [
            (staff_group(referral.created_by_id), {"type": "chat.referral", "referral": notice})
        ]
        if to_state == Referral.State.SUBMITTED:
            outgoing.append((events.SUPERVISORS_GROUP, {"type": "chat.referral", "referral": notice}))
        events.emit_on_commit(outgoing)
    return referral


def referral_queue(
    *,
    user: Any,
    state: str | None = None,
    kind: str | None = None,
    criterion: str | None = None,
    repeat: bool | None = None,
    urgent: bool | None = None,
    area: str | None = None,
) -> QuerySet[Referral]:
    if not is_supervisor(user):
        audit_trail.record_refusal(actor_id=user.pk, resource="referral", attempt="queue_read")
        raise NotFound()
    queue = Referral.objects.exclude(state=Referral.State.DRAFT).select_related("case", "created_by__staff")
    if state:
        queue = queue.filter(state=state)
    if kind:
        queue = queue.filter(kind=kind)
    if criterion:
        queue = (
            queue.filter(criteria__contains=[criterion])
            if _json_contains()
            else queue.filter(criteria__icontains=criterion)
        )
    if repeat is not None:
        queue = queue.filter(repeat_of__isnull=not repeat)
    if urgent is not None:
        queue = queue.filter(urgent=urgent)
    if area:
        queue = queue.filter(area__iexact=area)
    audit(user=user, action="referral.queue_read")
    return queue.order_by("-urgent", "due_at", "created_at")


def _json_contains() -> bool:
    return bool(connection.features.supports_json_field_contains)


def referral_due_reminders(*, now: datetime | None = None) -> int:
    """Tell supervisors once about each submitted referral past its review due time."""
    now = now or timezone.now()
    overdue = Referral.objects.filter(
        state__in=(Referral.State.SUBMITTED, Referral.State.UNDER_REVIEW),
        due_at__lt=now,
        due_reminder_sent_at__isnull=True,
    )
    sent = 0
    for referral in overdue:
        updated = Referral.objects.filter(pk=referral.pk, due_reminder_sent_at__isnull=True).update(
            due_reminder_sent_at=now
        )
        if updated:
            notice = {
                "referral_id": str(referral.pk),
                "reference": referral.reference,
                "state": referral.state,
                "urgent": referral.urgent,
                "overdue": True,
            }
            events.send_now([(events.SUPERVISORS_GROUP, {"type": "chat.referral", "referral": notice})])
            sent += 1
    return sent
