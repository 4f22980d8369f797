"""Every change to cases, assessments, snapshots and referrals; each one writes the audit trail.
Checklist versions are published here too, recorded in the admin's change log.

The permission gate is `case_for_user` / `referral_for_user`: every view, export, socket
handler and admin list goes through it. Advisors reach their own cases and those shared with
them; supervisors reach all. A case someone may not reach answers "not found".
"""

import copy
import re
from datetime import date, datetime, timedelta
from typing import Any, NoReturn
from uuid import UUID

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from agents.models import StaffProfile
from chat import events
from chat.models import Conversation
from chat.services import conversation_for_staff, staff_actor
from risk import audit as audit_trail
from risk import checklist as checklists
from risk import scoring
from risk.checklist import definition
from risk.models import (
    Assessment,
    CaseConversation,
    CaseNote,
    CaseRecord,
    ChecklistVersion,
    Incident,
    Referral,
    ReferralTransition,
)
from risk.selectors import case_messages, evaluation, is_supervisor, visible_cases, visible_referrals


class RiskError(Exception):
    """A refused request; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChecklistInvalid(RiskError):
    """A draft that cannot be published; `problems` lists each reason."""

    def __init__(self, version: str, problems: list[str]) -> None:
        super().__init__("invalid", f"{version} cannot be published: " + " ".join(problems))
        self.problems = problems


class NotFound(RiskError):
    def __init__(self) -> None:
        super().__init__("not_found", "No such record that you may see.")


# --- The gate ---------------------------------------------------------------------------------


def audit(
    *, user: Any, action: str, case: CaseRecord | None = None, referral: Referral | None = None, **detail: Any
) -> None:
    audit_trail.record(
        actor_id=user.pk,
        action=action,
        case_id=case.pk if case else None,
        referral_id=referral.pk if referral else None,
        **detail,
    )


def valid_uuid(value: UUID | str) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def case_for_user(*, user: Any, case_id: UUID | str, action: str = "read") -> CaseRecord:
    """The one way to a case. Records the access in the audit trail, and a refusal too."""
    valid = valid_uuid(case_id)
    case = visible_cases(user).filter(pk=valid).first() if valid else None
    if case is None:
        known = valid is not None and CaseRecord.objects.filter(pk=valid).exists()
        audit_trail.record_refusal(
            actor_id=user.pk, resource="case", attempt=action, requested=case_id, case_id=valid if known else None
        )
        raise NotFound()
    audit(user=user, action=f"case.{action}", case=case)
    return case


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


def _conversation_for(user: Any, conversation_id: UUID | str) -> Conversation:
    """Staff may attach a conversation they are in (or any, for supervisors)."""
    actor = staff_actor(user_id=user.pk)
    valid = valid_uuid(conversation_id)
    if valid is None:
        audit_trail.record_refusal(actor_id=user.pk, resource="conversation", attempt="view", requested=conversation_id)
        raise NotFound()
    with transaction.atomic():
        try:
            return conversation_for_staff(actor=actor, conversation_id=valid, action="view")
        except Exception:
            raise NotFound() from None


# --- Cases ------------------------------------------------------------------------------------


def case_open(*, user: Any, conversation_id: UUID | str, area: str = "") -> CaseRecord:
    conversation = _conversation_for(user, conversation_id)
    existing = CaseRecord.objects.filter(conversation_links__conversation=conversation).first()
    if existing is not None:
        return case_for_user(user=user, case_id=existing.pk)
    with transaction.atomic():
        case = CaseRecord.objects.create(owner_id=user.pk, area=area)
        CaseConversation.objects.create(case=case, conversation=conversation, linked_by_id=user.pk)
        audit(user=user, action="case.create", case=case, conversation=str(conversation.pk))
    return case


def case_attach(*, user: Any, reference: str, conversation_id: UUID | str) -> CaseRecord:
    """A returning visitor gave their case reference: attach this conversation to it."""
    conversation = _conversation_for(user, conversation_id)
    case = visible_cases(user).filter(reference=reference.strip().upper()).first()
    if case is None:
        known = CaseRecord.objects.filter(reference=reference.strip().upper()).values_list("pk", flat=True).first()
        audit_trail.record_refusal(
            actor_id=user.pk, resource="case", attempt="attach", requested=reference, case_id=known
        )
        raise NotFound()
    with transaction.atomic():
        CaseConversation.objects.get_or_create(case=case, conversation=conversation, defaults={"linked_by_id": user.pk})
        audit(user=user, action="case.attach", case=case, conversation=str(conversation.pk))
    return case


def case_share(*, user: Any, case_id: UUID | str, with_user_id: int) -> CaseRecord:
    case = case_for_user(user=user, case_id=case_id, action="share")
    if not StaffProfile.objects.filter(user_id=with_user_id).exists():
        raise RiskError("invalid", "Cases are shared with staff only.")
    case.shared_with.add(with_user_id)
    audit(user=user, action="case.shared", case=case, with_user_id=with_user_id)
    return case


def case_note_add(*, user: Any, case_id: UUID | str, text: str) -> CaseNote:
    case = case_for_user(user=user, case_id=case_id, action="change")
    text = text.strip()
    if not text:
        raise RiskError("invalid", "The note is empty.")
    note = CaseNote.objects.create(case=case, text=text[:4000], author_id=user.pk)
    audit(user=user, action="case.note", case=case, note=note.pk)
    return note


def case_outcome_set(*, user: Any, case_id: UUID | str, outcome: str) -> CaseRecord:
    case = case_for_user(user=user, case_id=case_id, action="change")
    case.outcome = outcome.strip()[:4000]
    case.save(update_fields=["outcome"])
    audit(user=user, action="case.outcome", case=case)
    return case


def incident_add(
    *, user: Any, case_id: UUID | str, occurred_on: date, reported_to: str = "", note: str = ""
) -> Incident:
    case = case_for_user(user=user, case_id=case_id, action="change")
    if occurred_on > timezone.localdate():
        raise RiskError("invalid", "An incident cannot be in the future.")
    incident = Incident.objects.create(
        case=case, occurred_on=occurred_on, reported_to=reported_to[:100], note=note[:2000], recorded_by_id=user.pk
    )
    audit(user=user, action="incident.add", case=case, incident=incident.pk)
    return incident


# --- Assessments ------------------------------------------------------------------------------


def assessment_start(*, user: Any, case_id: UUID | str, conversation_id: UUID | str | None = None) -> Assessment:
    case = case_for_user(user=user, case_id=case_id, action="change")
    assessment = Assessment.objects.create(
        case=case,
        version=checklists.current().version,
        created_by_id=user.pk,
        conversation_id=conversation_id if conversation_id else None,
    )
    audit(user=user, action="assessment.start", case=case, assessment=assessment.pk)
    return assessment


def assessment_answer(
    *,
    user: Any,
    assessment_id: int,
    answers: dict[str, Any] | None = None,
    before_you_ask: dict[str, bool] | None = None,
    has_children: bool | None = None,
    honour_flag: bool | None = None,
    judgement_high: bool | None = None,
    judgement_reason: str | None = None,
) -> tuple[Assessment, scoring.Evaluation]:
    """Save what the advisor has so far (called as they go). Answers are a patch: each key maps
    to {"value": "yes"|"no"|"dont_know"|None, "source": str, "comment": str}; None clears."""
    assessment = Assessment.objects.select_related("case").filter(pk=assessment_id).first()
    if assessment is None:
        audit_trail.record_refusal(actor_id=user.pk, resource="assessment", attempt="change", requested=assessment_id)
        raise NotFound()
    case_for_user(user=user, case_id=assessment.case_id, action="change")
    checklist = definition(assessment.version)
    with transaction.atomic():
        assessment = Assessment.objects.select_for_update().select_related("case").get(pk=assessment.pk)
        merged = dict(assessment.answers)
        for key, answer in (answers or {}).items():
            if checklist.item(key) is None:
                raise RiskError("invalid", f"No item {key!r} in checklist {checklist.version}.")
            if answer is None or (
                isinstance(answer, dict) and answer.get("value") is None and not answer.get("comment")
            ):
                merged.pop(key, None)
                continue
            if not isinstance(answer, dict) or answer.get("value") not in (*scoring.ANSWERS, None):
                raise RiskError("invalid", f"{key}: the answer is yes, no or dont_know.")
            merged[key] = {
                "value": answer.get("value"),
                "source": str(answer.get("source", ""))[:200],
                "comment": str(answer.get("comment", ""))[:2000],
            }
        assessment.answers = merged
        if before_you_ask is not None:
            known = {item.key for item in checklist.before_you_ask}
            if not set(before_you_ask) <= known:
                raise RiskError("invalid", "Unknown confirmation.")
            assessment.before_you_ask = {**assessment.before_you_ask, **{k: bool(v) for k, v in before_you_ask.items()}}
        if has_children is not None:
            assessment.has_children = has_children
        if honour_flag is not None:
            assessment.honour_flag = honour_flag
        if judgement_reason is not None:
            assessment.judgement_reason = judgement_reason[:4000]
        if judgement_high is not None:
            if judgement_high and not (assessment.judgement_reason or "").strip():
                raise RiskError("reason_required", "Professional judgement needs a written reason.")
            assessment.judgement_high = judgement_high
        result = evaluation(assessment)
        assessment.score, assessment.level, assessment.criteria = result.score, result.level, result.criteria
        assessment.save()
        audit(
            user=user,
            action="assessment.answer",
            case=assessment.case,
            assessment=assessment.pk,
            keys=sorted((answers or {}).keys()),
        )
    return assessment, result


# --- Referrals --------------------------------------------------------------------------------

NOT_KNOWN = None

TRANSITIONS: dict[str, dict[str, str]] = {
    # to_state: {from_state: who} where who is "owner" or "supervisor"
    Referral.State.SUBMITTED: {Referral.State.DRAFT: "owner", Referral.State.RETURNED: "owner"},
    Referral.State.UNDER_REVIEW: {Referral.State.SUBMITTED: "supervisor"},
    Referral.State.RETURNED: {Referral.State.UNDER_REVIEW: "supervisor", Referral.State.SUBMITTED: "supervisor"},
    Referral.State.ACCEPTED: {Referral.State.UNDER_REVIEW: "supervisor"},
    Referral.State.LISTED: {Referral.State.ACCEPTED: "supervisor"},
    Referral.State.HEARD: {Referral.State.LISTED: "supervisor"},
    Referral.State.CLOSED: {Referral.State.HEARD: "supervisor"},
    Referral.State.WITHDRAWN: {
        s: "owner"
        for s in (
            Referral.State.DRAFT,
            Referral.State.SUBMITTED,
            Referral.State.UNDER_REVIEW,
            Referral.State.RETURNED,
            Referral.State.ACCEPTED,
            Referral.State.LISTED,
        )
    },
}
REASON_REQUIRED = {Referral.State.RETURNED, Referral.State.WITHDRAWN, Referral.State.HEARD}
EDITABLE_STATES = (Referral.State.DRAFT, Referral.State.RETURNED)


def _may_act(*, user: Any, referral: Referral, who: str, supervisor: bool) -> bool:
    """`who` is "owner" (the referrer, or any supervisor) or "supervisor"."""
    return supervisor or (who == "owner" and referral.created_by_id == user.pk)


def referral_moves(*, user: Any, referral: Referral) -> list[str]:
    """The states this user may move this referral to now, in the order of TRANSITIONS; the
    referral page offers exactly these and `referral_transition` refuses any other."""
    supervisor = is_supervisor(user)
    return [
        to_state
        for to_state, sources in TRANSITIONS.items()
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


def referral_form_template(
    *, case: CaseRecord, user: Any, assessment: Assessment | None, result: scoring.Evaluation | None
) -> dict[str, Any]:
    profile = StaffProfile.objects.filter(user_id=user.pk).first()
    criteria = {c["key"]: c for c in (result.criteria if result else [])}
    return {
        "referrer": {
            "agency": settings.RISK.get("AGENCY", "Helpline"),
            "name": profile.display_name if profile else "",
            "role": profile.get_role_display() if profile else "",
            "phone": NOT_KNOWN,
            "secure_email": NOT_KNOWN,
            "date": timezone.localdate().isoformat(),
            "discussed_with_manager": NOT_KNOWN,
        },
        "victim": {
            k: NOT_KNOWN
            for k in (
                "surname",
                "forenames",
                "aliases",
                "date_of_birth",
                "address",
                "postcode",
                "phone",
                "safe_to_call",
                "safe_to_leave_message",
                "safe_times",
                "gender",
                "ethnicity",
                "disability",
                "sexuality",
                "language",
                "interpreter",
                "immigration_status",
            )
        },
        "perpetrators": [],
        "household": [],
        "criteria": {
            "visible_high_risk": {"met": "visible_high_risk" in criteria, "score": result.score if result else None},
            "professional_judgement": {
                "met": "professional_judgement" in criteria,
                "reasons": assessment.judgement_reason if assessment else "",
            },
            "potential_escalation": {"met": "potential_escalation" in criteria, "incidents": case.incidents.count()},
            "repeat": {"met": "repeat" in criteria, "previous_reference": None},
        },
        "risk_summary": {
            "background": NOT_KNOWN,
            "why_multi_agency": NOT_KNOWN,
            "crime_reference": NOT_KNOWN,
            "checklist_attached": assessment is not None,
            "excerpts": [],
        },
        "safety": {
            "fears": NOT_KNOWN,
            "safe_to_talk_to": NOT_KNOWN,
            "not_safe_to_talk_to": NOT_KNOWN,
            "earlier_maracs": NOT_KNOWN,
        },
        "consent": {
            "victim_aware": NOT_KNOWN,
            "why_not_aware": NOT_KNOWN,
            "consent_given": NOT_KNOWN,
            "basis_without_consent": NOT_KNOWN,
            "sharing_protocol_reference": NOT_KNOWN,
        },
    }


def referral_draft(
    *, user: Any, case_id: UUID | str, assessment_id: int | None = None, excerpt_seqs: list[int] | None = None
) -> Referral:
    case = case_for_user(user=user, case_id=case_id, action="change")
    assessment = case.assessments.filter(pk=assessment_id).first() if assessment_id else case.assessments.first()
    result = evaluation(assessment) if assessment else None
    form = referral_form_template(case=case, user=user, assessment=assessment, result=result)
    if excerpt_seqs:
        link = case.conversation_links.select_related("conversation").first()
        if link:
            form["risk_summary"]["excerpts"] = [
                {"seq": m.seq, "from": m.sender_kind, "text": m.text}
                for m in link.conversation.messages.filter(seq__in=excerpt_seqs, kind="text").order_by("seq")
            ]
    referral = Referral.objects.create(
        case=case,
        assessment=assessment,
        area=case.area,
        form=form,
        created_by_id=user.pk,
        criteria=[c["key"] for c in (result.criteria if result else [])],
        score=result.score if result else 0,
    )
    audit(user=user, action="referral.draft", case=case, referral=referral)
    return referral


# The people sections of the form are lists of entries with these fields.
PERSON_FIELDS: dict[str, tuple[str, ...]] = {
    "perpetrators": ("name", "aliases", "date_of_birth", "address", "relationship"),
    "household": ("name", "date_of_birth", "relationship_to_victim", "relationship_to_perpetrator", "school"),
}


def _person(section: str, entry: Any) -> dict[str, str | None]:
    allowed = PERSON_FIELDS.get(section, ())
    if not isinstance(entry, dict) or set(entry) - set(allowed):
        raise RiskError("invalid", f"Each entry in {section} takes only {list(allowed)}.")
    if any(value is not None and not isinstance(value, str) for value in entry.values()):
        raise RiskError("invalid", f"The fields of {section} are text.")
    return {key: (entry.get(key) or NOT_KNOWN) for key in allowed}


def referral_update(
    *,
    user: Any,
    referral_id: UUID | str,
    form: dict[str, Any] | None = None,
    urgent: bool | None = None,
    area: str | None = None,
    excerpt_ids: list[int] | None = None,
) -> Referral:
    referral = referral_for_user(user=user, referral_id=referral_id, action="change")
    if referral.state not in EDITABLE_STATES:
        raise RiskError("invalid_state", "Only a draft or a returned referral can be edited.")
    if not referral_editable(user=user, referral=referral):
        _refuse_referral(user=user, referral_id=referral.pk, attempt="change")
    if form is not None:
        for section, values in form.items():
            if section not in referral.form or not isinstance(values, type(referral.form[section])):
                raise RiskError("invalid", f"Unknown or malformed section {section!r}.")
            if isinstance(values, dict):
                unknown = set(values) - set(referral.form[section])
                if unknown:
                    raise RiskError("invalid", f"Unknown field(s) {sorted(unknown)} in {section}.")
                referral.form[section] = {**referral.form[section], **values}
            else:
                referral.form[section] = [_person(section, entry) for entry in values]
    if urgent is not None:
        referral.urgent = urgent
    if area is not None:
        referral.area = area[:100]
    if excerpt_ids is not None:
        chosen = case_messages(referral.case).filter(pk__in=excerpt_ids)
        if len(set(excerpt_ids)) != chosen.count():
            raise RiskError("invalid", "An excerpt must be a message of one of this case's chats.")
        referral.form["risk_summary"]["excerpts"] = [
            {"id": m.pk, "seq": m.seq, "from": m.sender_kind, "text": m.text} for m in chosen
        ]
    referral.save()
    audit(user=user, action="referral.update", case=referral.case, referral=referral)
    return referral


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
    allowed = TRANSITIONS.get(to_state, {})
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
    if to_state == Referral.State.LISTED and meeting_on is None:
        raise RiskError("invalid", "A listed referral needs the meeting date.")
    now = timezone.now()
    with transaction.atomic():
        referral = Referral.objects.select_for_update().select_related("case").get(pk=referral.pk)
        previous = referral.state
        referral.state = to_state
        if to_state == Referral.State.SUBMITTED:
            referral.submitted_at = now
            referral.due_at = working_days_after(now, int(settings.RISK["REVIEW_DUE_WORKING_DAYS"]))
            earlier = (
                Referral.objects.filter(case=referral.case, submitted_at__gte=now - timedelta(days=365))
                .exclude(pk=referral.pk)
                .exclude(state__in=(Referral.State.WITHDRAWN, Referral.State.DRAFT))
                .order_by("-submitted_at")
                .first()
            )
            if earlier is not None:
                referral.repeat_of = earlier
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
            (events.staff_group(referral.created_by_id), {"type": "chat.referral", "referral": notice})
        ]
        if to_state == Referral.State.SUBMITTED:
            outgoing.append((events.SUPERVISORS_GROUP, {"type": "chat.referral", "referral": notice}))
        events.emit_on_commit(outgoing)
    return referral


def referral_queue(
    *,
    user: Any,
    state: str | None = None,
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


# --- Checklist versions -----------------------------------------------------------------------
# Drafts are created and edited in the admin (which logs each change); publishing and making a
# version current happen only here. The admin's change log (LogEntry) is their audit trail.

PUBLISH_PERMISSION = "risk.publish_checklistversion"


def _may(actor: Any, permission: str) -> bool:
    return bool(getattr(actor, "is_active", False)) and actor.has_perm(permission)


def _change_log(*, actor: Any, version: ChecklistVersion, flag: int, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=actor.pk, queryset=[version], action_flag=flag, change_message=message, single_object=True
    )


def checklist_version_problems(*, version: ChecklistVersion) -> list[str]:
    """What stops this draft from being published, for people; empty when nothing does."""
    problems = [message for _, message in checklists.validate(version.definition)]
    label_problem = checklists.validate_version_label(version.version)
    if label_problem:
        problems.insert(0, label_problem)
    used = Assessment.objects.filter(version=version.version).exists()
    if version.state == ChecklistVersion.State.DRAFT and used:
        problems.insert(0, f"Assessments were answered against a version called {version.version}: choose another.")
    return problems


def _next_label(label: str) -> str:
    taken = set(ChecklistVersion.objects.values_list("version", flat=True))
    taken |= set(Assessment.objects.values_list("version", flat=True).distinct())
    match = re.match(r"^(.*?)(\d+)$", label)
    stem, number = (match.group(1), int(match.group(2))) if match else (f"{label}.", 1)
    while True:
        number += 1
        candidate = f"{stem}{number}"
        if candidate not in taken:
            return candidate[:20]


def checklist_version_draft_copy(*, version_id: int, actor: Any, label: str = "") -> ChecklistVersion:
    """A new draft with the items of version `version_id`, labelled `label` or the next free
    label after it (2026.1 -> 2026.2)."""
    if not _may(actor, "risk.add_checklistversion"):
        raise RiskError("forbidden", "You may not create checklist versions.")
    source = ChecklistVersion.objects.filter(pk=version_id).first()
    if source is None:
        raise NotFound()
    label = label.strip() or _next_label(source.version)
    problem = checklists.validate_version_label(label)
    if problem:
        raise RiskError("invalid", problem)
    if ChecklistVersion.objects.filter(version=label).exists() or Assessment.objects.filter(version=label).exists():
        raise RiskError("invalid", f"There is already a checklist version {label}.")
    with transaction.atomic():
        draft = ChecklistVersion.objects.create(
            version=label, definition=copy.deepcopy(source.definition), based_on=source, created_by_id=actor.pk
        )
        _change_log(actor=actor, version=draft, flag=ADDITION, message=f"Copied from {source.version} as a new draft.")
    return draft


def checklist_version_publish(*, version_id: int, actor: Any) -> ChecklistVersion:
    """Publish a draft and make it current, or make an earlier published version current again.
    Refuses a draft that scoring, the referral criteria or the console could not work with."""
    if not _may(actor, PUBLISH_PERMISSION):
        raise RiskError("forbidden", "Publishing a checklist version needs the permission to publish them.")
    with transaction.atomic():
        version = ChecklistVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None:
            raise NotFound()
        if version.is_current:
            raise RiskError("invalid_state", f"{version.version} is already the current version.")
        first_time = version.state == ChecklistVersion.State.DRAFT
        if first_time:
            problems = checklist_version_problems(version=version)
            if problems:
                raise ChecklistInvalid(version.version, problems)
        # A fresh statement, after this row's lock: a publish that committed meanwhile is seen.
        previous = list(ChecklistVersion.objects.select_for_update().filter(is_current=True))
        for old in previous:
            old.is_current = False
            old.save(update_fields=["is_current"])
        version.is_current = True
        if first_time:
            version.state = ChecklistVersion.State.PUBLISHED
            version.published_by_id = actor.pk
            version.published_at = timezone.now()
            version.save(update_fields=["state", "published_by", "published_at", "is_current"])
        else:
            version.save(update_fields=["is_current"])
        replaced = ", ".join(old.version for old in previous) or "none"
        done = "Published and made current" if first_time else "Made current again"
        _change_log(actor=actor, version=version, flag=CHANGE, message=f"{done} (replacing {replaced}).")
        for old in previous:
            _change_log(actor=actor, version=old, flag=CHANGE, message=f"No longer current: {version.version} is.")
    return version
