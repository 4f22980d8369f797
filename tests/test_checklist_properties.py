"""Scoring over any valid checklist version, not only the shipped ones: random versions (core
items, bands, triggers, prompts, ticks, audience, the professional's section) that validation
accepts, answered at random. Whatever the version, the score is the number of yes answers among
its core items, the band never falls as the score rises, judgement only raises the level, and a
prompt shows exactly when its items are answered yes. The first version, 2026.1, scores exactly
as it did before versions carried their own bands."""

import itertools
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from risk import checklist, scoring
from risk.checklist_rules import validate
from tests.support.depth import depth
from tests.test_risk_scoring import LIMITS, TODAY

ORDER = scoring.LEVELS.index
VALUES = st.sampled_from(["yes", "no", "dont_know", None])
keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
labels = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)


def items(prefix: str, count: int) -> list[dict[str, Any]]:
    return [{"key": f"{prefix}{n}", "label": f"Item {n}", "question": f"Question {n}?"} for n in range(1, count + 1)]


@st.composite
def options(draw: st.DrawFn, most: int) -> list[dict[str, str]]:
    chosen = draw(st.lists(keys, min_size=1, max_size=most, unique=True))
    return [{"key": key, "label": draw(labels)} for key in chosen]


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    """A random definition that validation accepts."""
    count = draw(st.integers(min_value=1, max_value=40))
    core = items("c", count)
    core_keys = [item["key"] for item in core]
    for item in draw(st.lists(st.sampled_from(core), unique_by=lambda i: i["key"], max_size=6)):
        item["ticks"] = draw(options(10))
    some_core = st.lists(st.sampled_from(core_keys), min_size=1, max_size=4, unique=True)
    data: dict[str, Any] = {
        "before_you_ask": items("b", draw(st.integers(0, 5))),
        "core": core,
        "children": items("k", 3),
        "stalking": items("s", draw(st.integers(1, 11))),
        "honour": items("h", draw(st.integers(1, 2))),
        "triggers": {"stalking": draw(some_core)} | draw(st.just({}) | some_core.map(lambda k: {"honour": k})),
    }
    high = draw(st.integers(1, count))
    if draw(st.booleans()):  # else the thresholds given to scoring, when they fit
        medium = draw(st.none() | st.integers(1, high - 1)) if high > 1 else None
        data["bands"] = {"high_from": high, "medium_from": medium, "medium_is_local": draw(st.booleans())}
    elif count < LIMITS["high_from"]:
        data["bands"] = {"high_from": high, "medium_from": None, "medium_is_local": True}
    prompt_keys = draw(st.lists(keys, max_size=6, unique=True))
    data["prompts"] = [
        {
            "key": key,
            "all": draw(st.lists(st.sampled_from(core_keys), max_size=3, unique=True)),
            "any": draw(some_core),
            "text": "Consider professional judgement.",
        }
        for key in prompt_keys
    ]
    low = draw(st.integers(10, 100))
    data["audience"] = {
        "key": draw(keys),
        "label": draw(labels),
        "min_age": low,
        "max_age": draw(st.none() | st.integers(low, 120)),
        "marac": draw(st.booleans()) and low >= 16,
    }
    fields = draw(st.lists(keys, max_size=8, unique=True))
    data["professional"] = []
    for key in fields:
        kind = draw(st.sampled_from(["ticks", "choice", "text", "date"]))
        field: dict[str, Any] = {"key": key, "label": draw(labels), "kind": kind}
        if kind == "ticks":
            field["options"] = draw(options(20))
        data["professional"].append(field)
    return data


@st.composite
def answered(draw: st.DrawFn) -> tuple[checklist.Checklist, dict[str, Any]]:
    data = draw(definitions())
    assert validate(data) == [], validate(data)
    version = checklist.from_definition("9999.1", data)
    answerable = [item.key for item in version.core] + ["k1", "k2", "k3", "s1", "h1", "x1"]
    values = draw(st.dictionaries(st.sampled_from(answerable), VALUES))
    answers = {key: {"value": value, "source": "", "comment": ""} for key, value in values.items() if value}
    return version, answers


def evaluate(version: checklist.Checklist, answers: dict[str, Any], **kwargs: Any) -> scoring.Evaluation:
    return scoring.evaluate(answers=answers, checklist=version, today=TODAY, limits=LIMITS, **kwargs)


@settings(max_examples=depth(300), deadline=None)
@given(answered())
def test_the_score_is_the_yes_count_among_the_core_items_whatever_the_version(
    case: tuple[checklist.Checklist, dict[str, Any]],
) -> None:
    version, answers = case
    core = {item.key for item in version.core}
    result = evaluate(version, answers)
    assert result.score == sum(1 for key, a in answers.items() if key in core and a["value"] == "yes")
    assert 0 <= result.score <= len(version.core)
    assert result.unanswered == [item.key for item in version.core if item.key not in answers]
    # Round trip: the stored form reads back as the same version.
    assert checklist.from_definition(version.version, version.definition()) == version


@settings(max_examples=depth(200), deadline=None)
@given(answered())
def test_the_band_never_falls_as_the_score_rises(case: tuple[checklist.Checklist, dict[str, Any]]) -> None:
    version, answers = case
    bands = version.bands_in_use(LIMITS)
    seen = [scoring.band(points, bands) for points in range(len(version.core) + 1)]
    assert all(ORDER(a) <= ORDER(b) for a, b in itertools.pairwise(seen))
    assert seen[-1] == "high"  # validation keeps the high band reachable
    result = evaluate(version, answers)
    assert result.band == seen[result.score]
    assert (result.band == "high") == (result.score >= bands.high_from)
    medium = bands.medium_from is not None and bands.medium_from <= result.score < bands.high_from
    assert (result.band == "medium") == medium
    local = " (local practice)" if bands.medium_is_local else ""
    assert result.band_label == {"standard": "Standard", "medium": f"Medium{local}", "high": "High"}[result.band]


@settings(max_examples=depth(200), deadline=None)
@given(answered(), st.lists(st.integers(0, 500), max_size=5))
def test_judgement_only_raises_the_level(case: tuple[checklist.Checklist, dict[str, Any]], ages: list[int]) -> None:
    version, answers = case
    dates = [TODAY - timedelta(days=age) for age in ages]
    plain = evaluate(version, answers, incident_dates=dates, police_incident_dates=dates)
    judged = evaluate(version, answers, incident_dates=dates, police_incident_dates=dates, judgement_high=True)
    assert ORDER(plain.level) >= ORDER(plain.band) and judged.level == "high"
    assert (judged.score, judged.band) == (plain.score, plain.band)
    if plain.score >= version.bands_in_use(LIMITS).high_from:
        assert plain.level == "high" and plain.criteria[0]["key"] == "visible_high_risk"
        assert [c["key"] for c in judged.criteria] == [c["key"] for c in plain.criteria]
    else:
        assert judged.criteria[0]["key"] == "professional_judgement"


@settings(max_examples=depth(300), deadline=None)
@given(answered(), st.booleans(), st.sampled_from([None, "yes", "no", "dont_know"]))
def test_prompts_show_exactly_when_their_items_are_yes(
    case: tuple[checklist.Checklist, dict[str, Any]], judgement: bool, children_risk: str | None
) -> None:
    version, answers = case
    professional = {"children_risk": children_risk} if children_risk else {}
    result = evaluate(version, answers, judgement_high=judgement, professional=professional)
    yes = {key for key, a in answers.items() if a["value"] == "yes"}
    expected = [
        {"key": p.key, "text": p.text}
        for p in version.prompts
        if set(p.all) <= yes and (not p.any or bool(set(p.any) & yes))
    ]
    below_high = result.score < version.bands_in_use(LIMITS).high_from
    assert result.prompts == (expected if below_high and not judgement else [])
    assert result.marac_applies == version.audience.marac
    at_risk = bool({"k2", "k3"} & yes) or children_risk == "yes"
    assert result.children_at_risk == at_risk and result.safeguarding_due == at_risk
    assert not evaluate(version, answers, professional=professional, safeguarding_recorded=True).safeguarding_due


def old_evaluate(
    answers: dict[str, Any],
    judgement_high: bool,
    incident_dates: list[date],
    last_referral_on: date | None,
) -> dict[str, Any]:
    """Scoring as it was before versions carried their own bands, prompts and audience."""
    core = {item.key for item in checklist.V2026_1.core}
    points = sum(1 for key, a in answers.items() if key in core and a.get("value") == "yes")
    band = "high" if points >= 14 else "medium" if points >= 10 else "standard"
    criteria: list[dict[str, Any]] = []
    if points >= 14:
        criteria.append({"key": "visible_high_risk", "detail": f"score {points}"})
    elif judgement_high:
        criteria.append({"key": "professional_judgement", "detail": "advisor's reasoned concern"})
    recent = [d for d in incident_dates if TODAY - timedelta(days=365) < d <= TODAY]
    if len(recent) >= 3:
        criteria.append({"key": "potential_escalation", "detail": f"{len(recent)} incidents in the window"})
    if last_referral_on is not None and any(
        last_referral_on < d <= last_referral_on + timedelta(days=365) for d in incident_dates
    ):
        criteria.append({"key": "repeat", "detail": f"new incident within 12 months of {last_referral_on}"})
    return {
        "score": points,
        "band": band,
        "level": "high" if judgement_high or criteria else band,
        "criteria": criteria,
        "unanswered": [i.key for i in checklist.V2026_1.core if answers.get(i.key, {}).get("value") is None],
        "referral_due": bool(criteria),
    }


old_answers = st.dictionaries(
    st.sampled_from([item.key for item in checklist.V2026_1.core] + ["k2", "s01", "h1"]),
    VALUES.map(lambda v: {"value": v, "source": "", "comment": ""}),
)


@settings(max_examples=depth(400), deadline=None)
@given(
    old_answers,
    st.booleans(),
    st.lists(st.integers(0, 800), max_size=6),
    st.none() | st.integers(1, 700),
)
def test_the_first_version_scores_exactly_as_before(
    answers: dict[str, Any], judgement: bool, ages: list[int], referral_age: int | None
) -> None:
    dates = [TODAY - timedelta(days=age) for age in ages]
    referral_on = TODAY - timedelta(days=referral_age) if referral_age else None
    result = scoring.evaluate(
        answers=answers,
        checklist=checklist.V2026_1,
        judgement_high=judgement,
        incident_dates=dates,
        police_incident_dates=dates,
        last_referral_on=referral_on,
        today=TODAY,
    )
    before = old_evaluate(answers, judgement, dates, referral_on)
    assert {key: value for key, value in result.as_dict().items() if key in before} == before
    # What is new only adds: the defaults give 2026.1 the medium band as local practice and the prompts.
    assert (
        result.band_label == {"standard": "Standard", "medium": "Medium (local practice)", "high": "High"}[result.band]
    )
    assert result.marac_applies
