"""The risk checklist: the in-memory shape of a version, where versions come from, and the rules a
new version must keep for scoring and the console to work.

Versions are data (`risk.models.ChecklistVersion`), edited as drafts and published in the admin.
An assessment records the version it was answered against; a published version never changes and
is never deleted, so old assessments stay readable and keep their score. `current()` is read
fresh from the database on every call (another process may have just published); published
definitions are kept per process by version, which is safe because they never change.

The first version, 2026.1, ships with the code in risk/checklists/ (a migration seeds it): the
wording is the product's own, written from the domain labels.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from risk.models import ChecklistVersion

BLOCKS = ("before_you_ask", "core", "children", "stalking", "honour")
BLOCK_TITLES = {
    "before_you_ask": "Before you ask",
    "core": "Core (scored)",
    "children": "Children and dependants",
    "stalking": "Stalking",
    "honour": "Honour-based abuse",
}
# The score thresholds (settings RISK_MEDIUM_FROM, RISK_HIGH_FROM) are calibrated on this many core
# items: a version rewords or replaces core items, it does not add or remove them.
CALIBRATED_CORE_ITEMS = 24
# The console opens a follow-up block on a "yes" to these core items (risk/static/risk/checklist.js).
TRIGGERS = {"c08": "stalking", "c04": "honour"}
KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,20}$")
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")
LABEL_MAX = 100
QUESTION_MAX = 500
# The versions that ship with the code, as they are stored (risk/checklists/<version>.json).
SHIPPED_DIR = Path(__file__).resolve().parent / "checklists"


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    question: str


@dataclass(frozen=True)
class Checklist:
    version: str
    before_you_ask: tuple[Item, ...]
    core: tuple[Item, ...]
    children: tuple[Item, ...]
    stalking: tuple[Item, ...]
    honour: tuple[Item, ...]

    def item(self, key: str) -> Item | None:
        for block in (self.core, self.children, self.stalking, self.honour):
            for item in block:
                if item.key == key:
                    return item
        return None

    def block_of(self, key: str) -> str | None:
        for name in ("core", "children", "stalking", "honour"):
            if any(item.key == key for item in getattr(self, name)):
                return name
        return None

    def as_dict(self) -> dict[str, object]:
        return {"version": self.version, **self.definition()}

    def definition(self) -> dict[str, list[dict[str, str]]]:
        """The stored form (`ChecklistVersion.definition`): the five blocks, without the label."""
        return {
            name: [{"key": i.key, "label": i.label, "question": i.question} for i in getattr(self, name)]
            for name in BLOCKS
        }


def from_definition(version: str, data: dict[str, Any]) -> Checklist:
    """The in-memory shape of a stored definition (one that `validate` accepts)."""

    def block(name: str) -> tuple[Item, ...]:
        return tuple(Item(key=i["key"], label=i["label"], question=i["question"]) for i in data.get(name, []))

    return Checklist(
        version=version,
        before_you_ask=block("before_you_ask"),
        core=block("core"),
        children=block("children"),
        stalking=block("stalking"),
        honour=block("honour"),
    )


def _shipped(version: str) -> Checklist:
    with (SHIPPED_DIR / f"{version}.json").open(encoding="utf-8") as data:
        return from_definition(version, json.load(data))


V2026_1 = _shipped("2026.1")


# The version shipped with the code, seeded into every database as 2026.1 (published, current).
SHIPPED = V2026_1
# Kept for code that predates versions in the database: the shipped definition. The version new
# assessments use is `current()`.
CURRENT = SHIPPED

# Published definitions already read by this process, by version label.
VERSIONS: dict[str, Checklist] = {SHIPPED.version: SHIPPED}


def definition(version: str) -> Checklist:
    """The published checklist `version`; LookupError if there is no such published version."""
    try:
        return VERSIONS[version]
    except KeyError:
        pass
    row = (
        ChecklistVersion.objects.filter(version=version, state=ChecklistVersion.State.PUBLISHED)
        .values_list("definition", flat=True)
        .first()
    )
    if row is None:
        raise LookupError(f"unknown checklist version {version!r}")
    checklist = from_definition(version, row)
    if not transaction.get_connection().in_atomic_block:
        # Only committed rows: a publish read inside a transaction may still be rolled back.
        VERSIONS[version] = checklist
    return checklist


def current() -> Checklist:
    """The version new assessments use, read fresh. A database holding no version at all (one
    emptied without its seed) has the shipped one."""
    label = ChecklistVersion.objects.filter(is_current=True).values_list("version", flat=True).first()
    return definition(label) if label is not None else SHIPPED


# --- What a version must keep ----------------------------------------------------------------


def validate(data: Any) -> list[tuple[str | None, str]]:
    """Every problem with a definition, as (block or None, message for people). Empty when the
    definition can be published: well formed, unique keys, nothing empty, and what scoring, the
    referral criteria and the console depend on still there."""
    problems: list[tuple[str | None, str]] = []
    if not isinstance(data, dict):
        return [(None, "The definition must be an object with the blocks " + ", ".join(BLOCKS) + ".")]
    unknown = sorted(set(data) - set(BLOCKS))
    if unknown:
        problems.append((None, f"Unknown block(s) {', '.join(unknown)}; the blocks are {', '.join(BLOCKS)}."))
    seen: dict[str, str] = {}
    for name in BLOCKS:
        title = BLOCK_TITLES[name]
        items = data.get(name)
        if not isinstance(items, list):
            problems.append((name, f"{title}: the block is missing or is not a list of items."))
            continue
        for n, item in enumerate(items, start=1):
            where = f"{title}, item {n}"
            if not isinstance(item, dict) or set(item) != {"key", "label", "question"}:
                problems.append((name, f"{where}: an item has exactly a key, a label and a question."))
                continue
            if not all(isinstance(item[field], str) for field in ("key", "label", "question")):
                problems.append((name, f"{where}: the key, label and question are text."))
                continue
            key, label, question = item["key"], item["label"].strip(), item["question"].strip()
            if KEY_PATTERN.match(key):
                where = f"{where} ({key})"
            else:
                problems.append((name, f"{where}: the key {key!r} must be 1 to 20 lower-case letters, digits or _."))
            if key in seen:
                problems.append((name, f"{where}: the key {key!r} is already used in {BLOCK_TITLES[seen[key]]}."))
            seen.setdefault(key, name)
            if not label:
                problems.append((name, f"{where}: the label is empty."))
            elif len(label) > LABEL_MAX:
                problems.append((name, f"{where}: the label is longer than {LABEL_MAX} characters."))
            if not question:
                problems.append((name, f"{where}: the question is empty."))
            elif len(question) > QUESTION_MAX:
                problems.append((name, f"{where}: the question is longer than {QUESTION_MAX} characters."))
    core = data.get("core")
    if isinstance(core, list):
        high_from = int(settings.RISK["HIGH_FROM"])
        count = len(core)
        if count != CALIBRATED_CORE_ITEMS:
            problems.append(
                (
                    "core",
                    f"Core: there are {count} items; the score thresholds (medium from "
                    f"{settings.RISK['MEDIUM_FROM']}, high from {high_from}) are calibrated on "
                    f"{CALIBRATED_CORE_ITEMS}. Reword or replace core items rather than adding or removing them.",
                )
            )
        if count < high_from:
            problems.append(
                ("core", f"Core: with {count} items a score of {high_from} (visible high risk) could never be reached.")
            )
        core_keys = {item.get("key") for item in core if isinstance(item, dict)}
        for key, block in TRIGGERS.items():
            if key not in core_keys:
                problems.append(
                    (
                        "core",
                        f"Core: keep an item with the key {key}; a yes to it opens the "
                        f"{BLOCK_TITLES[block].lower()} questions in the console.",
                    )
                )
    return problems


def validate_version_label(label: str) -> str | None:
    """The problem with a version label, or None."""
    if not VERSION_PATTERN.match(label):
        return "A version label is 1 to 20 letters, digits, dots, dashes or _, e.g. 2026.2."
    return None
