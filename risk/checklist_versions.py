"""Checklist versions. Drafts are created and edited in the admin (which logs each change);
publishing and making a version current happen only here. The admin's change log (LogEntry) is
their audit trail.
"""

import copy
import re
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone

from risk import checklist as checklists
from risk.models import Assessment, ChecklistVersion
from risk.services import NotFound, RiskError


class ChecklistInvalid(RiskError):
    """A draft that cannot be published; `problems` lists each reason."""

    def __init__(self, version: str, problems: list[str]) -> None:
        super().__init__("invalid", f"{version} cannot be published: " + " ".join(problems))
        self.problems = problems


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
            version=label,
            definition=copy.deepcopy(source.definition),
            audience=audience_of(source.definition),
            based_on=source,
            created_by_id=actor.pk,
        )
        _change_log(actor=actor, version=draft, flag=ADDITION, message=f"Copied from {source.version} as a new draft.")
    return draft


def audience_of(definition: Any) -> str:
    """The audience key a definition states (adults when it states none, as 2026.1)."""
    audience = definition.get("audience") if isinstance(definition, dict) else None
    key = audience.get("key") if isinstance(audience, dict) else None
    return key if isinstance(key, str) and key else checklists.ADULT


def checklist_version_publish(*, version_id: int, actor: Any) -> ChecklistVersion:
    """Publish a draft and make it current for its audience, or make an earlier published version
    current again; the version it replaces is the current one with the same audience, and only
    that one. Refuses a draft that scoring, the referral criteria or the console could not work
    with."""
    if not _may(actor, PUBLISH_PERMISSION):
        raise RiskError("forbidden", "Publishing a checklist version needs the permission to publish them.")
    with transaction.atomic():
        version = ChecklistVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None:
            raise NotFound()
        if version.is_current:
            raise RiskError("invalid_state", f"{version.version} is already the current version for its audience.")
        first_time = version.state == ChecklistVersion.State.DRAFT
        if first_time:
            problems = checklist_version_problems(version=version)
            if problems:
                raise ChecklistInvalid(version.version, problems)
            version.audience = audience_of(version.definition)
        # A fresh statement, after this row's lock: a publish that committed meanwhile is seen.
        previous = list(ChecklistVersion.objects.select_for_update().filter(is_current=True, audience=version.audience))
        for old in previous:
            old.is_current = False
            old.save(update_fields=["is_current"])
        version.is_current = True
        if first_time:
            version.state = ChecklistVersion.State.PUBLISHED
            version.published_by_id = actor.pk
            version.published_at = timezone.now()
            version.save(update_fields=["state", "published_by", "published_at", "is_current", "audience"])
        else:
            version.save(update_fields=["is_current"])
        replaced = ", ".join(old.version for old in previous) or "none"
        done = "Published and made current" if first_time else "Made current again"
        _change_log(actor=actor, version=version, flag=CHANGE, message=f"{done} (replacing {replaced}).")
        for old in previous:
            _change_log(actor=actor, version=old, flag=CHANGE, message=f"No longer current: {version.version} is.")
    return version
