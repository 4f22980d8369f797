"""Properties of scoring, levels and the referral criteria."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk import scoring
from risk.checklist import CURRENT, VERSIONS, Checklist, Item, definition
from tests.support.depth import depth

LIMITS = {
    "medium_from": 10,
    "high_from": 14,
    "escalation_incidents": 3,
    "escalation_window_days": 365,
    "repeat_window_days": 365,
}
TODAY = date(2026, 6, 1)
CORE = [item.key for item in CURRENT.core]
answer = st.sampled_from(["yes", "no", "dont_know", None])
answers_strategy = st.dictionaries(st.sampled_from([*CORE, "k1", "s01", "h1"]), answer).map(
    lambda d: {k: {"value": v, "source": "", "comment": ""} for k, v in d.items() if v is not None}
)


def evaluate(answers: dict, **kwargs) -> scoring.Evaluation:
    return scoring.evaluate(answers=answers, checklist=CURRENT, today=TODAY, limits=LIMITS, **kwargs)


def test_the_definition_has_the_domain_shape() -> None:
    assert len(CURRENT.core) == 24 and len(CURRENT.children) == 3 and len(CURRENT.stalking) == 11
    assert len(CURRENT.before_you_ask) == 5
    keys = [i.key for block in (CURRENT.core, CURRENT.children, CURRENT.stalking, CURRENT.honour) for i in block]
    assert len(keys) == len(set(keys))


@settings(max_examples=depth(300), deadline=None)
@given(answers_strategy, st.booleans())
def test_level_is_never_below_the_score_band_and_judgement_never_lowers(answers: dict, judgement: bool) -> None:
    result = evaluate(answers, judgement_high=judgement)
    order = scoring.LEVELS.index
    assert order(result.level) >= order(result.band)
    assert result.score == sum(1 for k, a in answers.items() if k in CORE and a["value"] == "yes")
    # Only core "yes" answers count; children, stalking and honour items never do.
    assert result.score <= 24
    with_judgement = evaluate(answers, judgement_high=True)
    assert order(with_judgement.level) >= order(result.level)
    if result.score >= 14:
        assert (
            result.level == "high"
            and {"key": "visible_high_risk", "detail": f"score {result.score}"} in result.criteria
        )
        assert not any(c["key"] == "professional_judgement" for c in with_judgement.criteria)


@pytest.mark.parametrize(
    ("yes", "band"), [(0, "standard"), (9, "standard"), (10, "medium"), (13, "medium"), (14, "high"), (24, "high")]
)
def test_bands(yes: int, band: str) -> None:
    answers = {key: {"value": "yes"} for key in CORE[:yes]}
    answers.update({key: {"value": "dont_know"} for key in CORE[yes:]})
    result = evaluate(answers)
    assert (result.score, result.band) == (yes, band)
    assert result.unanswered == []


@settings(max_examples=depth(200), deadline=None)
@given(st.integers(min_value=0, max_value=800), st.integers(min_value=1, max_value=400))
def test_repeat_within_twelve_months_and_not_after(days_after_referral: int, referral_age: int) -> None:
    referral_on = TODAY - timedelta(days=referral_age)
    incident_on = referral_on + timedelta(days=days_after_referral)
    if incident_on > TODAY:
        return
    result = evaluate({}, last_referral_on=referral_on, incident_dates=[incident_on])
    repeat = any(c["key"] == "repeat" for c in result.criteria)
    assert repeat == (0 < days_after_referral <= 365)
    if repeat:
        assert result.level == "high"


@settings(max_examples=depth(200), deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=700), st.booleans()), max_size=8))
def test_escalation_counts_incidents_reported_to_the_police_in_the_rolling_window(
    incidents: list[tuple[int, bool]],
) -> None:
    result = evaluate(
        {},
        incident_dates=[TODAY - timedelta(days=a) for a, _ in incidents],
        police_incident_dates=[TODAY - timedelta(days=a) for a, police in incidents if police],
    )
    in_window = sum(1 for a, police in incidents if police and a < 365)
    assert any(c["key"] == "potential_escalation" for c in result.criteria) == (in_window >= 3)


@pytest.mark.django_db
def test_a_new_version_keeps_old_assessments_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    newer = Checklist(
        version="2099.1",
        before_you_ask=CURRENT.before_you_ask,
        core=(*CURRENT.core[:23], Item("c25", "New factor", "A reworded question")),
        children=CURRENT.children,
        stalking=CURRENT.stalking,
        honour=CURRENT.honour,
    )
    monkeypatch.setitem(VERSIONS, newer.version, newer)
    old_answers = {key: {"value": "yes"} for key in CORE}
    old = scoring.evaluate(answers=old_answers, checklist=definition(CURRENT.version), today=TODAY, limits=LIMITS)
    assert old.score == 24 and definition(CURRENT.version).item("c24") is not None
    new = scoring.evaluate(answers=old_answers, checklist=definition("2099.1"), today=TODAY, limits=LIMITS)
    assert new.score == 23
    with pytest.raises(LookupError):
        definition("1999.1")
