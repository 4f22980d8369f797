"""The risk checklist: the in-memory shape of a version and where versions come from. The rules a
new version must keep, and the defaults for what an older one leaves out, are in
risk.checklist_rules.

Versions are data (`risk.models.ChecklistVersion`), edited as drafts and published in the admin.
An assessment records the version it was answered against; a published version never changes and
is never deleted, so old assessments stay readable and keep their score. More than one version is
current at once, one for each audience (adults; young people aged 13 to 17; ...); `current()` is
read fresh from the database on every call (another process may have just published); published
definitions are kept per process by version, which is safe because they never change.

The versions that ship with the code are in risk/checklists/ (migrations seed them): 2026.1, the
first; 2026.2, which adds the tick-which details, the professional's section, the prompts and the
bands as data; YP-2026.1, for young people. The wording is the product's own, written from the
domain labels.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from risk.checklist_rules import (
    BLOCK_TITLES,
    BLOCKS,
    DEFAULT_AUDIENCE,
    DEFAULT_PROMPTS,
    DEFAULT_TRIGGERS,
    KEY_PATTERN,
    PARTS,
    default_bands,
    validate,
    validate_version_label,
)
from risk.models import ChecklistVersion

__all__ = ["BLOCKS", "BLOCK_TITLES", "KEY_PATTERN", "validate", "validate_version_label"]

# The versions that ship with the code, as they are stored (risk/checklists/<version>.json).
SHIPPED_DIR = Path(__file__).resolve().parent / "checklists"
ADULT = "adult"


@dataclass(frozen=True)
class Option:
    """A detail to tick on an item answered yes, or an option of a professional's field."""

    key: str
    label: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label}


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    question: str
    ticks: tuple[Option, ...] = ()

    def stored(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, "question": self.question}
        if self.ticks:
            data["ticks"] = [tick.as_dict() for tick in self.ticks]
        return data

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "question": self.question} | {
            "ticks": [tick.as_dict() for tick in self.ticks]
        }


@dataclass(frozen=True)
class Audience:
    key: str
    label: str
    min_age: int
    max_age: int | None
    marac: bool

    def stored(self) -> dict[str, Any]:
        data = self.as_dict()
        if self.max_age is None:
            del data["max_age"]
        return data

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "min_age": self.min_age,
            "max_age": self.max_age,
            "marac": self.marac,
        }


@dataclass(frozen=True)
class Bands:
    high_from: int
    medium_from: int | None
    medium_is_local: bool

    def as_dict(self) -> dict[str, Any]:
        return {"high_from": self.high_from, "medium_from": self.medium_from, "medium_is_local": self.medium_is_local}


@dataclass(frozen=True)
class Prompt:
    """Shown to the advisor when every item of `all` and at least one of `any` (if it names any)
    is answered yes."""

    key: str
    all: tuple[str, ...]
    any: tuple[str, ...]
    text: str

    def met(self, yes: set[str] | frozenset[str]) -> bool:
        return all(key in yes for key in self.all) and (not self.any or any(key in yes for key in self.any))

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "all": list(self.all), "any": list(self.any), "text": self.text}


@dataclass(frozen=True)
class ProfessionalField:
    """A field of the professional's section: `kind` is ticks (option keys), choice (yes, no,
    dont_know), text or date (YYYY-MM-DD, not in the future)."""

    key: str
    label: str
    kind: str
    options: tuple[Option, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, "kind": self.kind}
        if self.kind == "ticks":
            data["options"] = [option.as_dict() for option in self.options]
        return data


def _audience(data: dict[str, Any]) -> Audience:
    return Audience(
        key=data["key"],
        label=data["label"],
        min_age=data["min_age"],
        max_age=data.get("max_age"),
        marac=data["marac"],
    )


def _prompt(data: dict[str, Any]) -> Prompt:
    return Prompt(key=data["key"], all=tuple(data["all"]), any=tuple(data["any"]), text=data["text"])


def _triggers(data: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    # By block: PostgreSQL's jsonb keeps no order of an object's keys.
    return tuple((block, tuple(data[block])) for block in sorted(data))


# The defaults (risk.checklist_rules) in their in-memory shape.
ADULTS = _audience(DEFAULT_AUDIENCE)
TRIGGERS = _triggers(DEFAULT_TRIGGERS)
PROMPTS = tuple(_prompt(p) for p in DEFAULT_PROMPTS)


@dataclass(frozen=True)
class Checklist:
    """One version. The parts beside the blocks hold the defaults (risk.checklist_rules) when the
    stored definition leaves them out; `stated` names those it states, so `definition()` gives
    back exactly the stored form. Bands left out are read from the settings when scoring."""

    version: str
    before_you_ask: tuple[Item, ...]
    core: tuple[Item, ...]
    children: tuple[Item, ...]
    stalking: tuple[Item, ...]
    honour: tuple[Item, ...]
    audience: Audience = ADULTS
    bands: Bands | None = None
    triggers: tuple[tuple[str, tuple[str, ...]], ...] = TRIGGERS
    prompts: tuple[Prompt, ...] = PROMPTS
    professional: tuple[ProfessionalField, ...] = ()
    stated: frozenset[str] = frozenset()

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

    def professional_field(self, key: str) -> ProfessionalField | None:
        return next((field for field in self.professional if field.key == key), None)

    def bands_in_use(self, limits: dict[str, int] | None = None) -> Bands:
        """The version's bands; for a version without, the thresholds given (else the settings'),
        the medium band being local practice."""
        if self.bands is not None:
            return self.bands
        bands = default_bands()
        if limits is not None:
            bands.update(high_from=limits["high_from"], medium_from=limits["medium_from"])
        return Bands(**bands)

    def triggers_dict(self) -> dict[str, list[str]]:
        return {block: list(keys) for block, keys in self.triggers}

    def as_dict(self) -> dict[str, Any]:
        """What the console reads: every part with the defaults filled in, ticks on every item."""
        return {
            "version": self.version,
            "audience": self.audience.as_dict(),
            "bands": self.bands_in_use().as_dict(),
            "triggers": self.triggers_dict(),
            "prompts": [prompt.as_dict() for prompt in self.prompts],
            **{name: [item.as_dict() for item in getattr(self, name)] for name in BLOCKS},
            "professional": [field.as_dict() for field in self.professional],
        }

    def definition(self) -> dict[str, Any]:
        """The stored form (`ChecklistVersion.definition`): the five blocks and the parts it
        states, without the label."""
        data: dict[str, Any] = {}
        if "audience" in self.stated:
            data["audience"] = self.audience.stored()
        if "bands" in self.stated and self.bands is not None:
            data["bands"] = self.bands.as_dict()
        if "triggers" in self.stated:
            data["triggers"] = self.triggers_dict()
        if "prompts" in self.stated:
            data["prompts"] = [prompt.as_dict() for prompt in self.prompts]
        data.update({name: [item.stored() for item in getattr(self, name)] for name in BLOCKS})
        if "professional" in self.stated:
            data["professional"] = [field.as_dict() for field in self.professional]
        return data


def _options(data: list[dict[str, str]] | None) -> tuple[Option, ...]:
    return tuple(Option(key=o["key"], label=o["label"]) for o in data or ())


def from_definition(version: str, data: dict[str, Any]) -> Checklist:
    """The in-memory shape of a stored definition (one that `validate` accepts)."""

    def block(name: str) -> tuple[Item, ...]:
        return tuple(
            Item(key=i["key"], label=i["label"], question=i["question"], ticks=_options(i.get("ticks")))
            for i in data.get(name, [])
        )

    bands = data.get("bands")
    return Checklist(
        version=version,
        before_you_ask=block("before_you_ask"),
        core=block("core"),
        children=block("children"),
        stalking=block("stalking"),
        honour=block("honour"),
        audience=_audience(data.get("audience", DEFAULT_AUDIENCE)),
        bands=Bands(**bands) if bands else None,
        triggers=_triggers(data.get("triggers", DEFAULT_TRIGGERS)),
        prompts=tuple(_prompt(p) for p in data.get("prompts", DEFAULT_PROMPTS)),
        professional=tuple(
            ProfessionalField(key=f["key"], label=f["label"], kind=f["kind"], options=_options(f.get("options")))
            for f in data.get("professional", [])
        ),
        stated=frozenset(part for part in PARTS if part in data),
    )


def shipped_definition(version: str) -> dict[str, Any]:
    """The stored form of a version that ships with the code."""
    with (SHIPPED_DIR / f"{version}.json").open(encoding="utf-8") as data:
        loaded: dict[str, Any] = json.load(data)
    return loaded


V2026_1 = from_definition("2026.1", shipped_definition("2026.1"))
V2026_2 = from_definition("2026.2", shipped_definition("2026.2"))
YP2026_1 = from_definition("YP-2026.1", shipped_definition("YP-2026.1"))

SHIPPED_VERSIONS = {checklist.version: checklist for checklist in (V2026_1, V2026_2, YP2026_1)}
# The versions shipped as current, one for each audience (seeded published and current); a
# database holding no current version of an audience (one emptied without its seed) has these.
SHIPPED_CURRENT = {checklist.audience.key: checklist for checklist in (V2026_2, YP2026_1)}
# The current adult version as shipped.
SHIPPED = SHIPPED_CURRENT[ADULT]
# Kept for code that predates versions in the database: the shipped definition. The version new
# assessments use is `current()`.
CURRENT = SHIPPED

# Published definitions already read by this process, by version label. 2026.1 is seeded from its
# file as it is; the others are read from the database once.
VERSIONS: dict[str, Checklist] = {V2026_1.version: V2026_1}


def definition(version: str) -> Checklist:
    """The published checklist `version`; LookupError if there is no such published version. A
    shipped version reads from its file while the database holds no row of that label (one
    emptied without its seed)."""
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
        if version in SHIPPED_VERSIONS and not ChecklistVersion.objects.filter(version=version).exists():
            return SHIPPED_VERSIONS[version]
        raise LookupError(f"unknown checklist version {version!r}")
    checklist = from_definition(version, row)
    if not transaction.get_connection().in_atomic_block:
        # Only committed rows: a publish read inside a transaction may still be rolled back.
        VERSIONS[version] = checklist
    return checklist


def current(audience: str = ADULT) -> Checklist:
    """The version new assessments for `audience` use, read fresh; LookupError for an audience
    with no current version. A database with no current version of a shipped audience has the
    shipped one."""
    label = (
        ChecklistVersion.objects.filter(is_current=True, audience=audience).values_list("version", flat=True).first()
    )
    if label is not None:
        return definition(label)
    if audience in SHIPPED_CURRENT:
        return definition(SHIPPED_CURRENT[audience].version)
    raise LookupError(f"no current checklist for {audience!r}")


def currents() -> list[Checklist]:
    """The current versions, one for each audience, adults first: what the advisor chooses from."""
    labels = ChecklistVersion.objects.filter(is_current=True).values_list("audience", "version")
    found = {audience: definition(label) for audience, label in labels}
    for audience in SHIPPED_CURRENT.keys() - found.keys():
        found[audience] = current(audience)
    return sorted(found.values(), key=lambda c: (c.audience.key != ADULT, c.audience.key))
