"""Scoring, levels and the four MARAC referral criteria (shared/domain/risk-and-marac.md).

Pure functions over plain values, so they are easy to test exhaustively.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from risk.checklist import Checklist

ANSWERS = ("yes", "no", "dont_know")
LEVELS = ("standard", "medium", "high")


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


def band(points: int, limits: dict[str, int] | None = None) -> str:
    limits = limits or thresholds()
    if points >= limits["high_from"]:
        return "high"
    if points >= limits["medium_from"]:
        return "medium"
    return "standard"


@dataclass(frozen=True)
class Evaluation:
    score: int
    band: str
    level: str
    criteria: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)

    @property
    def referral_due(self) -> bool:
        return bool(self.criteria)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "level": self.level,
            "criteria": self.criteria,
            "unanswered": self.unanswered,
            "referral_due": self.referral_due,
        }


def evaluate(
    *,
    answers: dict[str, Any],
    checklist: Checklist,
    judgement_high: bool = False,
    incident_dates: list[date] | None = None,
    last_referral_on: date | None = None,
    today: date,
    limits: dict[str, int] | None = None,
) -> Evaluation:
    """Score, band, the level shown (the highest of band, judgement and criteria), and the
    referral criteria met. Judgement can only raise the level, never lower it."""
    limits = limits or thresholds()
    points = score(answers, checklist)
    scored_band = band(points, limits)
    criteria: list[dict[str, Any]] = []
    if points >= limits["high_from"]:
        criteria.append({"key": "visible_high_risk", "detail": f"score {points}"})
    elif judgement_high:
        criteria.append({"key": "professional_judgement", "detail": "advisor's reasoned concern"})
    window_start = today - timedelta(days=limits["escalation_window_days"])
    recent = [d for d in (incident_dates or []) if window_start < d <= today]
    if len(recent) >= limits["escalation_incidents"]:
        criteria.append({"key": "potential_escalation", "detail": f"{len(recent)} incidents in the window"})
    if last_referral_on is not None:
        repeat_until = last_referral_on + timedelta(days=limits["repeat_window_days"])
        if any(last_referral_on < d <= repeat_until for d in (incident_dates or [])):
            criteria.append({"key": "repeat", "detail": f"new incident within 12 months of {last_referral_on}"})
    level = scored_band
    if judgement_high or criteria:
        level = "high"
    return Evaluation(
        score=points, band=scored_band, level=level, criteria=criteria, unanswered=unanswered(answers, checklist)
    )
