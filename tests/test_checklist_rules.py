"""What a checklist version may state beside its blocks (audience, bands, triggers, prompts,
ticks, the professional's section), checked before it can be published: each rule names its
problem. The shipped versions keep every rule, and read back exactly as stored."""

import copy
from collections.abc import Callable
from typing import Any

import pytest

from risk import checklist
from risk.checklist_rules import validate

Change = Callable[[dict[str, Any]], Any]


def problems(change: Change, base: str = "2026.2") -> list[tuple[str | None, str]]:
    data = copy.deepcopy(checklist.shipped_definition(base))
    change(data)
    return validate(data)


def core(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(item for item in data["core"] if item["key"] == key)


@pytest.mark.parametrize("version", ["2026.1", "2026.2", "YP-2026.1"])
def test_the_shipped_versions_keep_every_rule_and_read_back_as_stored(version: str) -> None:
    stored = checklist.shipped_definition(version)
    assert validate(stored) == []
    shape = checklist.from_definition(version, stored)
    assert shape.definition() == stored
    assert checklist.from_definition(version, shape.definition()) == shape
    assert len(shape.core) == 24 and len(shape.children) == 3 and len(shape.stalking) == 11


def test_the_young_people_s_version_is_its_own_wording_for_13_to_17() -> None:
    young, adult = checklist.YP2026_1, checklist.SHIPPED
    assert young.audience == checklist.Audience("young_people", "Young people (13 to 17)", 13, 17, False)
    assert adult.audience == checklist.Audience("adult", "Adults (16 and over)", 16, None, True)
    assert [i.key for i in young.core] == [i.key for i in adult.core]
    reworded = [i.key for i, a in zip(young.core, adult.core, strict=True) if i.question != a.question]
    assert len(reworded) >= 20
    assert {i.key for i in young.core if i.ticks} == {i.key for i in adult.core if i.ticks}
    assert young.professional_field("trusted_adult") is not None and young.professional_field("marac_grounds") is None


def test_a_version_without_the_new_parts_reads_as_the_defaults() -> None:
    old = checklist.V2026_1
    assert old.stated == frozenset() and old.bands is None
    assert old.audience.key == "adult" and old.audience.marac
    assert old.triggers_dict() == {"honour": ["c04"], "stalking": ["c08"]}
    assert [p.key for p in old.prompts] == [p.key for p in checklist.SHIPPED.prompts]
    assert old.professional == () and all(item.ticks == () for item in old.core)
    assert old.bands_in_use() == checklist.Bands(high_from=14, medium_from=10, medium_is_local=True)
    limits = {"high_from": 12, "medium_from": 8}
    assert old.bands_in_use(limits) == checklist.Bands(high_from=12, medium_from=8, medium_is_local=True)
    shown = old.as_dict()
    assert shown["bands"] == {"high_from": 14, "medium_from": 10, "medium_is_local": True}
    assert shown["professional"] == [] and all(item["ticks"] == [] for item in shown["core"])
    assert set(old.definition()) == set(checklist.BLOCKS)


def test_the_bands_take_the_version_s_own_thresholds_or_none_for_medium(settings: Any) -> None:
    def with_bands(high: Any, medium: Any, local: Any = True) -> Change:
        return lambda d: d.update(bands={"high_from": high, "medium_from": medium, "medium_is_local": local})

    assert problems(with_bands(20, None)) == []
    assert problems(with_bands(24, 23)) == []
    assert problems(with_bands(1, None)) == []
    expected = "Bands: 0 < medium_from < high_from (medium_from {}, high_from {})."
    assert problems(with_bands(14, 14)) == [("bands", expected.format(14, 14))]
    assert problems(with_bands(14, 0)) == [("bands", expected.format(0, 14))]
    assert problems(with_bands(0, None)) == [("bands", expected.format(None, 0))]
    assert problems(with_bands(25, 10)) == [
        ("core", "Core: with 24 items a score of 25 (visible high risk) could never be reached.")
    ]
    assert problems(with_bands("14", 10)) == [
        ("bands", "Bands: high_from is a whole number, medium_from one or empty.")
    ]
    assert problems(with_bands(14, True)) == [
        ("bands", "Bands: high_from is a whole number, medium_from one or empty.")
    ]
    assert problems(with_bands(14, 10, "yes")) == [("bands", "Bands: medium_is_local is true or false.")]
    assert problems(lambda d: d.update(bands={"high_from": 14})) == [
        ("bands", "Bands: an object with high_from, medium_from and medium_is_local.")
    ]
    assert problems(lambda d: d.update(bands=None))[0][0] == "bands"
    # Left out, the settings' thresholds must fit the core items.
    settings.RISK = {**settings.RISK, "HIGH_FROM": 30}
    assert problems(lambda d: d.pop("bands")) == [
        ("core", "Core: with 24 items a score of 30 (visible high risk) could never be reached.")
    ]


def test_the_audience_is_well_formed_with_sensible_ages() -> None:
    def audience(**changes: Any) -> Change:
        return lambda d: d["audience"].update(changes)

    assert problems(audience(max_age=90)) == []
    assert problems(audience(key="police_force_2")) == []
    assert problems(audience(key="Adults!")) == [
        ("audience", "Audience: the key must be 1 to 20 lower-case letters, digits or _.")
    ]
    assert problems(audience(label=" ")) == [("audience", "Audience: the label is empty.")]
    assert problems(audience(min_age=5)) == [
        ("audience", "Audience: min_age is a whole number of years from 10 to 120.")
    ]
    assert problems(audience(min_age=16.5)) == [
        ("audience", "Audience: min_age is a whole number of years from 10 to 120.")
    ]
    assert problems(audience(max_age=15)) == [
        ("audience", "Audience: max_age is empty or a whole number from min_age to 120.")
    ]
    assert problems(audience(marac="yes")) == [("audience", "Audience: marac is true or false.")]
    assert problems(audience(min_age=13)) == [
        ("audience", "Audience: MARAC is for victims aged 16 and over; min_age is 13.")
    ]
    assert problems(audience(region="Wales")) == [
        ("audience", "Audience: an object with a key, a label, min_age, marac and maybe max_age.")
    ]
    assert problems(lambda d: d.update(audience="adult"))[0][0] == "audience"


def test_triggers_open_follow_up_blocks_from_core_items_that_exist() -> None:
    assert problems(lambda d: d["triggers"].update(honour=["c04", "c16"], children=["c07"])) == []
    assert problems(lambda d: d["triggers"].update(stalking=["c99"])) == [
        ("triggers", "Triggers, Stalking: c99 is not a core item.")
    ]
    assert problems(lambda d: d["triggers"].update(honour=["k1"])) == [
        ("triggers", "Triggers, Honour-based abuse: k1 is not a core item.")
    ]
    assert problems(lambda d: d["triggers"].update(core=["c01"])) == [
        ("triggers", "Triggers: 'core' is not a follow-up block (children, stalking, honour).")
    ]
    assert problems(lambda d: d["triggers"].update(honour=[])) == [
        ("triggers", "Triggers, Honour-based abuse: name at least one core item.")
    ]
    assert problems(lambda d: d["triggers"].update(honour="c04")) == [
        ("triggers", "Triggers, Honour-based abuse: a list of core item keys.")
    ]
    assert problems(lambda d: (d.update(honour=[]), d["triggers"].update(honour=["c04"]))) == [
        ("triggers", "Triggers, Honour-based abuse: the block it opens has no items.")
    ]
    assert problems(lambda d: d["triggers"].pop("stalking")) == [
        ("triggers", "Triggers: nothing opens the stalking questions.")
    ]
    # Honour also opens on the advisor's flag, and a version may have no stalking questions at all.
    assert problems(lambda d: d["triggers"].pop("honour")) == []
    assert problems(lambda d: (d.update(stalking=[]), d.update(triggers={"honour": ["c04"]}))) == []
    assert problems(lambda d: d.update(triggers=["c08"])) == [
        ("triggers", "Triggers: an object naming, for each follow-up block, the core items.")
    ]


def test_prompts_name_core_items_that_exist() -> None:
    def prompt(n: int, **changes: Any) -> Change:
        return lambda d: d["prompts"][n].update(changes)

    assert problems(lambda d: d.update(prompts=[])) == []
    assert problems(prompt(0, all=[], any=["c15", "c13"])) == []
    assert problems(prompt(0, all=["c15", "c99"])) == [
        ("prompts", "Prompts, prompt 1 (strangulation), all: c99 is not a core item.")
    ]
    assert problems(prompt(3, any=["s01"])) == [
        ("prompts", "Prompts, prompt 4 (separation_control_violence), any: s01 is not a core item.")
    ]
    assert problems(prompt(0, all=[], any=[])) == [
        ("prompts", "Prompts, prompt 1 (strangulation): name at least one core item in all or any.")
    ]
    assert problems(prompt(1, key="strangulation")) == [
        ("prompts", "Prompts, prompt 2: the key 'strangulation' is used twice.")
    ]
    assert problems(prompt(1, key="Threats")) == [
        ("prompts", "Prompts, prompt 2: the key 'Threats' must be 1 to 30 lower-case letters, digits or _.")
    ]
    assert problems(prompt(2, text="")) == [("prompts", "Prompts, prompt 3 (stalking): the text is empty.")]
    assert problems(prompt(2, text="x" * 501)) == [
        ("prompts", "Prompts, prompt 3 (stalking): the text is longer than 500 characters.")
    ]
    assert problems(prompt(2, when="always")) == [
        ("prompts", "Prompts, prompt 3: a prompt has exactly a key, all, any and a text.")
    ]
    assert problems(lambda d: d.update(prompts=[d["prompts"][0]] * 21)) == [
        ("prompts", "Prompts: a list of at most 20 prompts.")
    ]
    # Left out, the default prompts need their items.
    assert problems(lambda d: (d.pop("prompts"), core(d, "c15").update(key="c15b"))) == [
        ("core", "Core: keep an item with the key c15; the default prompt strangulation names it."),
        ("core", "Core: keep an item with the key c15; the default prompt separation_control_violence names it."),
    ]


def test_ticks_are_well_formed_and_only_on_questions() -> None:
    def ticks(key: str, value: Any) -> Change:
        return lambda d: core(d, key).update(ticks=value)

    assert problems(ticks("c02", [{"key": "a_lot", "label": "A lot"}])) == []
    assert problems(ticks("c14", [])) == [
        ("core", "Core (scored), item 14 (c14): the ticks are a list of at least one {key, label}.")
    ]
    assert problems(ticks("c14", [{"key": "victim", "label": "A"}, {"key": "victim", "label": "B"}])) == [
        ("core", "Core (scored), item 14 (c14): the key 'victim' is used twice among the ticks.")
    ]
    assert problems(ticks("c14", [{"key": "The victim", "label": "A"}])) == [
        (
            "core",
            "Core (scored), item 14 (c14), ticks 1: the key 'The victim' must be 1 to 30 lower-case letters, "
            "digits or _.",
        )
    ]
    assert problems(ticks("c14", [{"key": "victim", "label": ""}])) == [
        ("core", "Core (scored), item 14 (c14), ticks 1: the label is empty.")
    ]
    assert problems(ticks("c14", [{"key": "victim"}])) == [
        ("core", "Core (scored), item 14 (c14), ticks 1: each has exactly a key and a label.")
    ]
    assert problems(ticks("c14", [{"key": f"t{n}", "label": "T"} for n in range(11)])) == [
        ("core", "Core (scored), item 14 (c14): at most 10 ticks.")
    ]
    assert problems(lambda d: d["stalking"][0].update(ticks=[{"key": "online", "label": "Online"}])) == []
    assert problems(lambda d: d["before_you_ask"][0].update(ticks=[{"key": "a", "label": "A"}])) == [
        ("before_you_ask", "Before you ask, item 1: an item has exactly a key, a label and a question.")
    ]


def test_the_professional_s_fields_have_a_known_kind_and_options_only_on_ticks() -> None:
    def field(n: int, **changes: Any) -> Change:
        return lambda d: d["professional"][n].update(changes)

    assert problems(lambda d: d.update(professional=[])) == []
    assert problems(field(1, kind="scale")) == [
        (
            "professional",
            "The professional's section, field 2 (weapons_access): the kind 'scale' is not one of ticks, choice, "
            "text, date.",
        )
    ]
    assert problems(field(1, options=[{"key": "yes", "label": "Yes"}])) == [
        (
            "professional",
            "The professional's section, field 2 (weapons_access): only a field of kind ticks has options.",
        )
    ]
    assert problems(lambda d: d["professional"][0].pop("options")) == [
        (
            "professional",
            "The professional's section, field 1 (other_factors): the options are a list of at least one {key, label}.",
        )
    ]
    assert problems(field(2, key="other_factors")) == [
        ("professional", "The professional's section, field 3: the key 'other_factors' is used twice.")
    ]
    assert problems(field(2, key="Priorities")) == [
        (
            "professional",
            "The professional's section, field 3: the key 'Priorities' must be 1 to 30 lower-case letters, "
            "digits or _.",
        )
    ]
    assert problems(field(2, label="")) == [
        ("professional", "The professional's section, field 3 (safety_priorities): the label is empty.")
    ]
    assert problems(field(2, hint="x")) == [
        ("professional", "The professional's section, field 3: a field has a key, a label, a kind and maybe options.")
    ]
    options = [{"key": f"o{n}", "label": "O"} for n in range(21)]
    assert problems(field(0, options=options)) == [
        ("professional", "The professional's section, field 1 (other_factors): at most 20 options.")
    ]
    assert problems(lambda d: d.update(professional={"weapons_access": "choice"})) == [
        ("professional", "The professional's section: a list of at most 30 fields.")
    ]


def test_unknown_parts_and_the_old_rules_still_name_their_problem() -> None:
    assert problems(lambda d: d.update(colour="red")) == [
        (
            None,
            "Unknown block(s) colour; the blocks are before_you_ask, core, children, stalking, honour, the other "
            "parts audience, bands, triggers, prompts, professional.",
        )
    ]
    assert problems(lambda d: d["children"].append(dict(core(d, "c14")))) == [
        ("children", "Children and dependants, item 4 (c14): the key 'c14' is already used in Core (scored).")
    ]
    assert validate("a definition") != []
