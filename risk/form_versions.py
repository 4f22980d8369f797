"""Each kind of referral has its own form, as versioned data: the defaults ship in
risk/referral_forms/<kind>.json, and an area whose agency uses its own form gets a version of its
own. A definition names its sections of fields (text, yes/no or a date), its people sections
(a number of entries of the same fields), the parts drawn from the case (the MARAC criteria, the
checklist's details, chat excerpts), whether a sealed transcript is attached (none, optional or
required) and what must be true before it is submitted (a field with a given value).

`validate` says what stops a definition from being used; drafts are published only through
`form_version_publish`, which refuses an invalid one. The admin's change log (LogEntry) is the
trail of these versions, as for the checklist's.
"""

import copy
import json
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone

from risk.agency_models import Agency, MaracArea
from risk.form_models import ReferralFormVersion
from risk.services import NotFound, RiskError

SHIPPED_DIR = Path(__file__).resolve().parent / "referral_forms"
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FIELD_TYPES = ("text", "yes_no", "date")
PARTS = ("criteria", "checklist", "excerpts")
TRANSCRIPT = ("none", "optional", "required")
# Keys the form keeps for the parts drawn from the case; no section may take them.
RESERVED = {"criteria", "transcript"}
LABEL_MAX = 200
ENTRIES_MAX = 10
PUBLISH_PERMISSION = "risk.publish_referralformversion"
VERSION_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")


@cache
def _shipped_text(kind: str) -> str:
    return (SHIPPED_DIR / f"{kind}.json").read_text(encoding="utf-8")


def shipped(kind: str) -> dict[str, Any]:
    """The default form of `kind` as it ships (a fresh copy)."""
    if kind not in Agency.Kind.values:
        raise RiskError("invalid", f"A referral's kind is one of {list(Agency.Kind.values)}.")
    loaded: dict[str, Any] = json.loads(_shipped_text(kind))
    return loaded


def _field_problems(where: str, fields: Any) -> list[str]:
    if not isinstance(fields, list) or not fields:
        return [f"{where} needs a list of fields."]
    problems, seen = [], set()
    for number, field in enumerate(fields, start=1):
        if not isinstance(field, dict) or set(field) - {"key", "label", "type"}:
            problems.append(f"{where}, field {number}: give key, label and (optionally) type, nothing else.")
            continue
        key, label = field.get("key"), field.get("label")
        if not isinstance(key, str) or not KEY.match(key):
            problems.append(f"{where}, field {number}: the key is lower-case letters, digits or _ (at most 40).")
        elif key in seen:
            problems.append(f"{where}: the key {key} is used twice.")
        else:
            seen.add(key)
        if not isinstance(label, str) or not label.strip() or len(label) > LABEL_MAX:
            problems.append(f"{where}, field {number}: the label is text of at most {LABEL_MAX} characters.")
        if field.get("type", "text") not in FIELD_TYPES:
            problems.append(f"{where}, field {number}: the type is one of {', '.join(FIELD_TYPES)}.")
    return problems


def validate(definition: Any, kind: str) -> list[str]:
    """What is wrong with a form definition for `kind`, for people; empty when nothing is."""
    if not isinstance(definition, dict):
        return ["The definition is a JSON object."]
    problems = []
    known = {"kind", "title", "about", "sections", "people", "parts", "transcript", "submit_requires"}
    if set(definition) - known:
        problems.append(f"Unknown part(s): {', '.join(sorted(set(definition) - known))}.")
    if definition.get("kind") != kind:
        problems.append(f"The definition's kind must be {kind}.")
    title = definition.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > LABEL_MAX:
        problems.append("The title is text of at most 200 characters.")
    sections, people = definition.get("sections"), definition.get("people", [])
    if not isinstance(sections, list) or not sections or not isinstance(people, list):
        return [*problems, "Give a list of sections (and a list of people sections, which may be empty)."]
    keys: set[str] = set()
    for number, section in enumerate([*sections, *people], start=1):
        allowed = {"key", "title", "fields", "entries"} if number > len(sections) else {"key", "title", "fields"}
        if not isinstance(section, dict) or set(section) - allowed:
            problems.append(f"Section {number}: give {', '.join(sorted(allowed))}, nothing else.")
            continue
        key = section.get("key")
        if not isinstance(key, str) or not KEY.match(key) or key in RESERVED or key in keys:
            problems.append(f"Section {number}: its key must be new, lower-case letters, digits or _.")
            continue
        keys.add(key)
        if not isinstance(section.get("title"), str) or not section["title"].strip():
            problems.append(f"Section {key}: give it a title.")
        if "entries" in allowed and section.get("entries") not in range(1, ENTRIES_MAX + 1):
            problems.append(f"Section {key}: entries is a number from 1 to {ENTRIES_MAX}.")
        problems += _field_problems(f"Section {key}", section.get("fields"))
    parts = definition.get("parts", [])
    if not isinstance(parts, list) or not set(parts) <= set(PARTS):
        problems.append(f"The parts are some of {', '.join(PARTS)}.")
    if definition.get("transcript", "none") not in TRANSCRIPT:
        problems.append(f"transcript is one of {', '.join(TRANSCRIPT)}.")
    named = {f"{s['key']}.{f['key']}" for s in sections if isinstance(s, dict) for f in _fields_of(s)}
    requires = definition.get("submit_requires", [])
    if not isinstance(requires, list):
        requires = [None]
    for rule in requires:
        if (
            not isinstance(rule, dict)
            or set(rule) != {"field", "value", "message"}
            or rule["field"] not in named
            or not all(isinstance(rule[k], str) for k in rule)
        ):
            problems.append("Each of submit_requires gives field (section.key of a field), value and message.")
    return problems


def _fields_of(section: dict[str, Any]) -> list[dict[str, Any]]:
    fields = section.get("fields")
    return (
        [f for f in fields if isinstance(f, dict) and isinstance(f.get("key"), str)] if isinstance(fields, list) else []
    )


def section_fields(definition: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """{section key: {field key: field}} of the sections of fields, in order."""
    return {s["key"]: {f["key"]: f for f in s["fields"]} for s in definition["sections"]}


def people_sections(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in definition.get("people", [])}


def form_build(definition: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    """A new referral's stored form: every field of the definition, filled in from what the case
    gave (`known`, by section and field) or None ("not known"); the people sections empty; the
    parts the definition draws from the case."""
    form: dict[str, Any] = {
        section: {key: known.get(section, {}).get(key) for key in fields}
        for section, fields in section_fields(definition).items()
    }
    form.update({section: [] for section in people_sections(definition)})
    parts = definition.get("parts", [])
    if "criteria" in parts:
        form["criteria"] = known["criteria"]
    if "checklist" in parts or "excerpts" in parts:
        summary = form.setdefault("risk_summary", {})
        if "checklist" in parts:
            for key in ("checklist_attached", "checklist_details", "professional"):
                summary[key] = known["risk_summary"][key]
        summary["excerpts"] = []
    return form


def current_version(kind: str, area: MaracArea | None) -> ReferralFormVersion | None:
    """The version new referrals of `kind` use in `area`: the area's own, else the default (the
    most recently published of either)."""
    published = ReferralFormVersion.objects.filter(kind=kind, state=ReferralFormVersion.State.PUBLISHED)
    own = published.filter(area=area).order_by("-published_at", "-pk").first() if area is not None else None
    return own or published.filter(area__isnull=True).order_by("-published_at", "-pk").first()


def definition_of(*, kind: str, version: ReferralFormVersion | None) -> dict[str, Any]:
    """The definition a referral was drafted on (the shipped default for one drafted before
    versions were kept, or when none is published)."""
    return version.definition if version is not None else shipped(kind)


def _may(actor: Any, permission: str) -> bool:
    return bool(getattr(actor, "is_active", False)) and actor.has_perm(permission)


def _change_log(*, actor: Any, version: ReferralFormVersion, flag: int, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=actor.pk, queryset=[version], action_flag=flag, change_message=message, single_object=True
    )


def form_version_problems(*, version: ReferralFormVersion) -> list[str]:
    problems = validate(version.definition, version.kind)
    if not VERSION_LABEL.match(version.version or ""):
        problems.insert(0, "The version label is 1 to 20 letters, digits, '.', '_' or '-'.")
    return problems


def form_version_publish(*, version_id: int, actor: Any) -> ReferralFormVersion:
    """Publish a draft: new referrals of its kind (in its area, or by default) use it from now on."""
    if not _may(actor, PUBLISH_PERMISSION):
        raise RiskError("forbidden", "Publishing a referral form needs the permission to publish them.")
    with transaction.atomic():
        version = ReferralFormVersion.objects.select_for_update().filter(pk=version_id).order_by().first()
        if version is None:
            raise NotFound()
        if version.state != ReferralFormVersion.State.DRAFT:
            raise RiskError("invalid_state", f"{version} is already published.")
        problems = form_version_problems(version=version)
        if problems:
            raise RiskError("invalid", f"{version.version} cannot be published: " + " ".join(problems))
        version.state = ReferralFormVersion.State.PUBLISHED
        version.published_by_id = actor.pk
        version.published_at = timezone.now()
        version.save(update_fields=["state", "published_by", "published_at"])
        _change_log(actor=actor, version=version, flag=CHANGE, message="Published: new referrals use it.")
    return version


def form_version_draft_copy(*, version_id: int, actor: Any, label: str = "") -> ReferralFormVersion:
    """A new draft with the definition of version `version_id`, for the same kind and area,
    labelled `label` or the source's label with "-draft" added."""
    if not _may(actor, "risk.add_referralformversion"):
        raise RiskError("forbidden", "You may not create referral form versions.")
    source = ReferralFormVersion.objects.filter(pk=version_id).first()
    if source is None:
        raise NotFound()
    label = (label.strip() or f"{source.version}-draft")[:20]
    taken = ReferralFormVersion.objects.filter(kind=source.kind, area=source.area, version=label)
    if taken.exists() or not VERSION_LABEL.match(label):
        raise RiskError("invalid", f"Choose another label than {label}.")
    with transaction.atomic():
        draft = ReferralFormVersion.objects.create(
            kind=source.kind,
            area=source.area,
            version=label,
            definition=copy.deepcopy(source.definition),
            based_on=source,
            created_by_id=actor.pk,
        )
        _change_log(actor=actor, version=draft, flag=ADDITION, message=f"Copied from {source} as a new draft.")
    return draft


TEXT_MAX = 2000


def _value(where: str, field: dict[str, Any], value: Any) -> str | None:
    """A field's value as posted, checked against its type; "" and None are "not known"."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > TEXT_MAX:
        raise RiskError("invalid", f"{where} is text of at most {TEXT_MAX} characters.", where)
    kind = field.get("type", "text")
    if kind == "yes_no" and value not in ("yes", "no"):
        raise RiskError("invalid", f"{where} is yes, no or not known.", where)
    if kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            raise RiskError("invalid", f"{where}: give the date as YYYY-MM-DD.", where) from None
    return value


def apply_patch(definition: dict[str, Any], form: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The stored form with `patch` applied: each section of fields patched field by field, each
    people section replaced whole. Only the definition's sections and fields are taken (the
    parts drawn from the case are not), each value checked against its type; anything else is
    refused and nothing changes."""
    fields, people = section_fields(definition), people_sections(definition)
    changed = copy.deepcopy(form)
    for section, values in patch.items():
        if section in fields and isinstance(values, dict) and isinstance(form.get(section), dict):
            unknown = set(values) - set(fields[section])
            if unknown:
                raise RiskError("invalid", f"Unknown field(s) {sorted(unknown)} in {section}.")
            for key, value in values.items():
                changed[section][key] = _value(f"{section}.{key}", fields[section][key], value)
        elif section in people and isinstance(values, list):
            spec = people[section]
            if len(values) > spec["entries"]:
                raise RiskError("invalid", f"{section} takes at most {spec['entries']} entries.")
            changed[section] = [_person(spec, entry) for entry in values]
        else:
            raise RiskError("invalid", f"Unknown or malformed section {section!r}.")
    return changed


def _person(spec: dict[str, Any], entry: Any) -> dict[str, str | None]:
    allowed = {f["key"]: f for f in spec["fields"]}
    if not isinstance(entry, dict) or set(entry) - set(allowed):
        raise RiskError("invalid", f"Each entry in {spec['key']} takes only {list(allowed)}.")
    if any(value is not None and not isinstance(value, str) for value in entry.values()):
        raise RiskError("invalid", f"The fields of {spec['key']} are text.")
    return {key: _value(f"{spec['key']}.{key}", field, entry.get(key)) for key, field in allowed.items()}


def submit_problems(definition: dict[str, Any], form: dict[str, Any], *, transcript_attached: bool) -> list[str]:
    """What the form needs before it is submitted: the values its rules require and, when the
    form requires one, a sealed transcript attached."""
    problems = []
    for rule in definition.get("submit_requires", []):
        section, key = rule["field"].split(".", 1)
        if (form.get(section) or {}).get(key) != rule["value"]:
            problems.append(rule["message"])
    if definition.get("transcript") == "required" and not transcript_attached:
        problems.append("Attach a sealed transcript of the chat first (seal it on the case page).")
    return problems
