"""A referral's form as its page lays it out and reads it back, following the definition of the
form version it was drafted on (risk.form_versions): its sections and labels, the people sections
with their number of entries, and the posted fields turned into the patch
`risk.referrals.referral_update` takes (which checks every section and field against the same
definition).
"""

from typing import Any

from django.http import QueryDict

from risk import form_versions, services
from risk.models import Referral


def definition(referral: Referral) -> dict[str, Any]:
    return form_versions.definition_of(kind=referral.kind, version=referral.form_version)


def _field(name: str, field: dict[str, Any], value: Any) -> dict[str, Any]:
    kind = field.get("type", "text")
    return {"name": name, "label": field["label"], "value": value, "yes_no": kind == "yes_no", "date": kind == "date"}


def layout(referral: Referral) -> dict[str, Any]:
    """The referral page's view of the form: its title, sections of fields, the people entries
    (blank ones up to each section's number), the criteria, what the checklist gave the risk
    summary and the chosen excerpts. A section the form was drafted without (an older referral)
    is left out."""
    shape = definition(referral)
    sections = [
        (
            section["key"],
            section["title"],
            [
                _field(f"{section['key']}.{f['key']}", f, referral.form[section["key"]].get(f["key"]))
                for f in section["fields"]
            ],
        )
        for section in shape["sections"]
        if isinstance(referral.form.get(section["key"]), dict)
    ]
    people = []
    for section in shape.get("people", []):
        key, slots = section["key"], section["entries"]
        entries = list(referral.form.get(key, []))[:slots]
        entries += [{}] * (slots - len(entries))
        people.append(
            (
                key,
                [
                    (
                        f"{section['title']} {index + 1}",
                        [_field(f"{key}.{index}.{f['key']}", f, entry.get(f["key"])) for f in section["fields"]],
                    )
                    for index, entry in enumerate(entries)
                ],
            )
        )
    summary = referral.form.get("risk_summary", {})
    excerpts = summary.get("excerpts", [])
    return {
        "form_title": shape["title"],
        "sections": sections,
        "people": people,
        "criteria": referral.form.get("criteria", {}),
        "checklist_details": summary.get("checklist_details", []),
        "professional": summary.get("professional", []),
        "excerpts": excerpts,
        "chosen": {e.get("id") for e in excerpts},
        "offers_excerpts": "excerpts" in shape.get("parts", []),
        "transcript": shape.get("transcript", "none"),
    }


def _people(data: QueryDict, section: dict[str, Any]) -> list[dict[str, Any]]:
    people = []
    keys = [f["key"] for f in section["fields"]]
    for index in range(section["entries"]):
        entry = {key: data.get(f"{section['key']}.{index}.{key}", "").strip() for key in keys}
        if any(entry.values()):
            people.append({key: value or None for key, value in entry.items()})
    return people


def form_patch(data: QueryDict, referral: Referral) -> dict[str, Any]:
    """The sections and fields posted, as a patch of the stored form; an emptied field is None
    ("not known")."""
    shape = definition(referral)
    form: dict[str, Any] = {}
    for section in shape["sections"]:
        key = section["key"]
        if not isinstance(referral.form.get(key), dict):
            continue
        form[key] = {
            f["key"]: (data.get(f"{key}.{f['key']}") or None) for f in section["fields"] if f"{key}.{f['key']}" in data
        }
    for section in shape.get("people", []):
        if f"{section['key']}.0.{section['fields'][0]['key']}" in data:
            form[section["key"]] = _people(data, section)
    return form


def excerpt_ids(data: QueryDict) -> list[int] | None:
    """The chat lines ticked as excerpts; None when the form did not offer them."""
    if "excerpts_shown" not in data:
        return None
    values = data.getlist("excerpt")
    if not all(value.isdigit() for value in values):
        raise services.RiskError("invalid", "An excerpt must be a message of one of this case's chats.")
    return [int(value) for value in values]
