"""Scoring, levels, the four MARAC referral criteria (shared/domain/risk-and-marac.md) and what an
answer calls for beside them: the prompts to consider professional judgement, and the children.

Pure functions over plain values, so they are easy to test exhaustively. The score is the number
of yes answers among the version's core items, whatever the version; the band comes from the
version's bands (for a version without, the thresholds given, else the settings'); professional
judgement and the criteria only ever raise the level.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from risk.checklist import Bands, Checklist

ANSWERS = ("yes", "no", "dont_know")
LEVELS = ("standard", "medium", "high")
# The children block's items that record harm or threats to the children, and the professional's
# field for risks to them: a yes to any puts the children at risk.
CHILDREN_HARM_ITEMS = ("k2", "k3")
CHILDREN_RISK_FIELD = "children_risk"


def thresholds() -> dict[str, int]:
    return {
        "medium_from": int(settings.RISK["MEDIUM_FROM"]),
        "high_from": int(settings.RISK["HIGH_FROM"]),
        "escalation_incidents": int(settings.RISK["ESCALATION_INCIDENTS"]),
        "escalation_window_days": int(settings.RISK["ESCALATION_WINDOW_DAYS"]),
        "repeat_window_days": int(settings.RISK["REPEAT_WINDOW_DAYS"]),
    }


def score(answers: dict[str, Any], checklist: Checklist) -> int:
    """The number of "yes" answers among the core items; anything else counts 0."""
    core = {item.key for item in checklist.core}
    return sum(1 for key, answer in answers.items() if key in core and _value(answer) == "yes")


def unanswered(answers: dict[str, Any], checklist: Checklist) -> list[str]:
    return [item.key for item in checklist.core if _value(answers.get(item.key)) not in ANSWERS]


def _value(answer: Any) -> str | None:
    if isinstance(answer, dict):
        return answer.get("value")
    return answer


def yes_keys(answers: dict[str, Any]) -> set[str]:
    return {key for key, answer in answers.items() if _value(answer) == "yes"}


def band(points: int, limits: dict[str, int] | Bands | None = None) -> str:
    if not isinstance(limits, Bands):
        limits = limits or thresholds()
        limits = Bands(high_from=limits["high_from"], medium_from=limits["medium_from"], medium_is_local=True)
    if points >= limits.high_from:
        return "high"
    if limits.medium_from is not None and points >= limits.medium_from:
        return "medium"
    return "standard"


def band_label(name: str, bands: Bands) -> str:
    """How the band is shown: the medium band is local practice, not part of the checklist."""
    if name == "medium":
        return "Medium (local practice)" if bands.medium_is_local else "Medium"
    return {"standard": "Standard", "high": "High"}[name]


def children_at_risk(answers: dict[str, Any], professional: dict[str, Any] | None = None) -> bool:
    """A yes to harm or threats to the children, or the professional's "risks to the children"."""
    return any(_value(answers.get(key)) == "yes" for key in CHILDREN_HARM_ITEMS) or (
        (professional or {}).get(CHILDREN_RISK_FIELD) == "yes"
    )


@dataclass(frozen=True)
class Evaluation:
    score: int
    band: str
    level: str
    criteria: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    band_label: str = ""
    prompts: list[dict[str, str]] = field(default_factory=list)
    marac_applies: bool = True
    children_at_risk: bool = False
    safeguarding_due: bool = False

    @property
    def referral_due(self) -> bool:
        return bool(self.criteria)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "band_label": self.band_label,
            "level": self.level,
            "criteria": self.criteria,
            "unanswered": self.unanswered,
            "referral_due": self.referral_due,
            "prompts": self.prompts,
            "marac_applies": self.marac_applies,
            "children_at_risk": self.children_at_risk,
            "safeguarding_due": self.safeguarding_due,
        }


def evaluate(
    *,
    answers: dict[str, Any],
    checklist: Checklist,
    judgement_high: bool = False,
    incident_dates: list[date] | None = None,
    police_incident_dates: list[date] | None = None,
    last_referral_on: date | None = None,
    professional: dict[str, Any] | None = None,
    safeguarding_recorded: bool = False,
    today: date,
    limits: dict[str, int] | None = None,
) -> Evaluation:
    """Score, band, the level shown (the highest of band, judgement and criteria), the referral
    criteria met, and the prompts and children's needs the answers call for. Judgement can only
    raise the level, never lower it. Escalation counts the incidents reported to the police
    (`police_incident_dates`); a repeat referral follows any new incident (`incident_dates`)."""
    limits = limits or thresholds()
    bands = checklist.bands_in_use(limits)
    points = score(answers, checklist)
    scored_band = band(points, bands)
    criteria: list[dict[str, Any]] = []
    if points >= bands.high_from:
        criteria.append({"key": "visible_high_risk", "detail": f"score {points}"})
    elif judgement_high:
        criteria.append({"key": "professional_judgement", "detail": "advisor's reasoned concern"})
    window_start = today - timedelta(days=limits["escalation_window_days"])
    recent = [d for d in (police_incident_dates or []) if window_start < d <= today]
    if len(recent) >= limits["escalation_incidents"]:
        criteria.append({"key": "potential_escalation", "detail": f"{len(recent)} incidents in the window"})
    if last_referral_on is not None:
        repeat_until = last_referral_on + timedelta(days=limits["repeat_window_days"])
        if any(last_referral_on < d <= repeat_until for d in (incident_dates or [])):
            criteria.append({"key": "repeat", "detail": f"new incident within 12 months of {last_referral_on}"})
    level = scored_band
    if judgement_high or criteria:
        level = "high"
    prompts: list[dict[str, str]] = []
    if not judgement_high and points < bands.high_from:
        yes = yes_keys(answers)
        prompts = [{"key": p.key, "text": p.text} for p in checklist.prompts if p.met(yes)]
    at_risk = children_at_risk(answers, professional)
    return Evaluation(
        score=points,
        band=scored_band,
        level=level,
        criteria=criteria,
        unanswered=unanswered(answers, checklist),
        band_label=band_label(scored_band, bands),
        prompts=prompts,
        marac_applies=checklist.audience.marac,
        children_at_risk=at_risk,
        safeguarding_due=at_risk and not safeguarding_recorded,
    )
