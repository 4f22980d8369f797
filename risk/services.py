"""Every change to cases and assessments; each one writes the audit trail. Referrals are
changed in risk.referrals, transcript snapshots in risk.snapshots, checklist versions in
risk.checklist_versions.

The permission gate is `case_for_user` here (with `referral_for_user` and `snapshot_for_user`
beside the changes of their records): every view, export, socket handler and admin list goes
through it. Advisors reach their own cases and those shared with them; supervisors reach all. A
case someone may not reach answers "not found".
"""

from datetime import date
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from agents.models import StaffProfile
from chat.models import Conversation
from chat.services.kernel import conversation_for_staff, staff_actor
from risk import audit as audit_trail
from risk import checklist as checklists
from risk import scoring
from risk.answers import AnswerRefused, answer_value, professional_value
from risk.checklist import Checklist, definition
from risk.models import Assessment, CaseConversation, CaseNote, CaseRecord, Incident, Referral, SafeguardingDecision
from risk.selectors import evaluation, visible_cases


class RiskError(Exception):
    """A refused request; `code` is stable, `message` is for people, `field` names what was
    refused (as the JSON API names it) when one field was."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


SAFEGUARDING_REASON_MAX = 2000


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
    *,
    user: Any,
    case_id: UUID | str,
    occurred_on: date,
    reported_to: str = "",
    reported_to_police: bool = False,
    note: str = "",
) -> Incident:
    """An incident on the case; those reported to the police count towards escalation."""
    case = case_for_user(user=user, case_id=case_id, action="change")
    if occurred_on > timezone.localdate():
        raise RiskError("invalid", "An incident cannot be in the future.")
    incident = Incident.objects.create(
        case=case,
        occurred_on=occurred_on,
        reported_to=reported_to[:100],
        reported_to_police=reported_to_police,
        note=note[:2000],
        recorded_by_id=user.pk,
    )
    audit(user=user, action="incident.add", case=case, incident=incident.pk)
    return incident


# --- Assessments ------------------------------------------------------------------------------


def assessment_version(*, version: str | None) -> str:
    """The version a new assessment is answered against: `version` if it is one of the current
    versions (one for each audience), else refused; None: the current adult version."""
    if version is None:
        return checklists.current().version
    current = [checklist.version for checklist in checklists.currents()]
    if version not in current:
        raise RiskError(
            "invalid", f"version: {version!r} is not a current checklist version ({', '.join(current)}).", "version"
        )
    return version


def assessment_start(
    *, user: Any, case_id: UUID | str, conversation_id: UUID | str | None = None, version: str | None = None
) -> Assessment:
    """A new assessment against `version` (one of the current versions; default the adults')."""
    label = assessment_version(version=version)
    case = case_for_user(user=user, case_id=case_id, action="change")
    assessment = Assessment.objects.create(
        case=case,
        version=label,
        created_by_id=user.pk,
        conversation_id=conversation_id if conversation_id else None,
    )
    audit(user=user, action="assessment.start", case=case, assessment=assessment.pk)
    return assessment


def _answers_merged(checklist: Checklist, stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(stored)
    for key, answer in patch.items():
        item = checklist.item(key)
        if item is None:
            raise RiskError("invalid", f"No item {key!r} in checklist {checklist.version}.")
        if answer is None or (
            isinstance(answer, dict)
            and answer.get("value") is None
            and not answer.get("comment")
            and not answer.get("ticks")
        ):
            merged.pop(key, None)
            continue
        if not isinstance(answer, dict):
            raise RiskError("invalid", f"{key}: the answer is yes, no or dont_know.")
        try:
            merged[key] = answer_value(item=item, answer=answer)
        except AnswerRefused as exc:
            raise RiskError("invalid", exc.message, exc.field) from None
    return merged


def _professional_merged(checklist: Checklist, stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(stored)
    for key, value in patch.items():
        field = checklist.professional_field(key)
        if field is None:
            known = ", ".join(f.key for f in checklist.professional) or "none"
            raise RiskError(
                "invalid",
                f"professional.{key}: checklist {checklist.version} has no such field (it has {known}).",
                f"professional.{key}",
            )
        try:
            stored_value = professional_value(field=field, value=value, today=timezone.localdate())
        except AnswerRefused as exc:
            raise RiskError("invalid", exc.message, exc.field) from None
        if stored_value is None:
            merged.pop(key, None)
        else:
            merged[key] = stored_value
    return merged


def _version_chosen(assessment: Assessment, version: str) -> Checklist:
    """Answer `assessment` against another current version: only before its first answer."""
    if version != assessment.version:
        label = assessment_version(version=version)
        if assessment.answers or assessment.professional:
            raise RiskError(
                "invalid_state",
                f"version: the version is chosen before the first answer, and this assessment has answers "
                f"against {assessment.version}.",
                "version",
            )
        assessment.version = label
    checklist = definition(assessment.version)
    known = {item.key for item in checklist.before_you_ask}
    assessment.before_you_ask = {k: v for k, v in assessment.before_you_ask.items() if k in known}
    return checklist


def assessment_answer(
    *,
    user: Any,
    assessment_id: int,
    answers: dict[str, Any] | None = None,
    professional: dict[str, Any] | None = None,
    version: str | None = None,
    before_you_ask: dict[str, bool] | None = None,
    has_children: bool | None = None,
    honour_flag: bool | None = None,
    judgement_high: bool | None = None,
    judgement_reason: str | None = None,
) -> tuple[Assessment, scoring.Evaluation]:
    """Save what the advisor has so far (called as they go). `answers` is a patch: each key maps
    to {"value": "yes"|"no"|"dont_know"|None, "ticks": [key, ...], "source": str, "comment": str};
    None clears. `professional` is a patch of the professional's fields by key (None clears).
    `version` moves the assessment to another current version, only while nothing is answered.
    Anything refused leaves the assessment as it was."""
    assessment = Assessment.objects.select_related("case").filter(pk=assessment_id).first()
    if assessment is None:
        audit_trail.record_refusal(actor_id=user.pk, resource="assessment", attempt="change", requested=assessment_id)
        raise NotFound()
    case_for_user(user=user, case_id=assessment.case_id, action="change")
    with transaction.atomic():
        assessment = Assessment.objects.select_for_update().select_related("case").get(pk=assessment.pk)
        before = assessment.version
        checklist = _version_chosen(assessment, version) if version is not None else definition(assessment.version)
        assessment.answers = _answers_merged(checklist, assessment.answers, answers or {})
        assessment.professional = _professional_merged(checklist, assessment.professional, professional or {})
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
        detail: dict[str, Any] = {"keys": sorted((answers or {}).keys())}
        if professional:
            detail["fields"] = sorted(professional)
        if assessment.version != before:
            detail["version"] = assessment.version
        audit(user=user, action="assessment.answer", case=assessment.case, assessment=assessment.pk, **detail)
    return assessment, result


# --- Safeguarding the children ------------------------------------------------------------------


def safeguarding_decision_record(
    *,
    user: Any,
    case_id: UUID | str,
    needed: bool,
    decided_on: date,
    reason: str = "",
    assessment_id: int | None = None,
) -> SafeguardingDecision:
    """Record whether a referral to safeguard the children is needed, on which date and why (a
    reason is required when it is). Decisions are never changed: a later one is a new row."""
    case = case_for_user(user=user, case_id=case_id, action="change")
    reason = reason.strip()
    if needed and not reason:
        raise RiskError("reason_required", "reason: say why a safeguarding referral is needed.", "reason")
    if len(reason) > SAFEGUARDING_REASON_MAX:
        raise RiskError("invalid", f"reason: at most {SAFEGUARDING_REASON_MAX} characters.", "reason")
    if decided_on > timezone.localdate():
        raise RiskError("invalid", "decided_on: the date cannot be in the future.", "decided_on")
    assessment = None
    if assessment_id is not None:
        assessment = case.assessments.filter(pk=assessment_id).first()
        if assessment is None:
            raise RiskError("invalid", "assessment_id: no such assessment on this case.", "assessment_id")
    with transaction.atomic():
        decision = SafeguardingDecision.objects.create(
            case=case,
            assessment=assessment,
            needed=needed,
            decided_on=decided_on,
            reason=reason,
            recorded_by_id=user.pk,
        )
        audit(
            user=user,
            action="safeguarding.decision",
            case=case,
            safeguarding=decision.pk,
            assessment=assessment.pk if assessment else None,
        )
    return decision
