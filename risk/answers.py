"""What an assessment stores, checked against the version it is answered against: an item's
answer with the details ticked, and the fields of the professional's section by their kind.

Pure functions: each takes what the advisor sent and gives back what to store, or raises
`AnswerRefused` naming the field (as the JSON API names it, e.g. `answers.c14.ticks`). The
services call them for every item and field of a patch before anything is saved.
"""

from datetime import date
from typing import Any

from risk.checklist import Item, ProfessionalField
from risk.checklist_rules import CHOICES, TEXT_ANSWER_MAX

SOURCE_MAX = 200
COMMENT_MAX = 2000


class AnswerRefused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def answer_value(*, item: Item, answer: dict[str, Any]) -> dict[str, Any]:
    """The stored answer: value, source and comment; `ticks` (in the item's order) on an item that
    defines them, kept only on a yes. Ticks the item does not define, or ticks on an answer that
    is not yes, are refused."""
    where = f"answers.{item.key}"
    value = answer.get("value")
    if value not in (*CHOICES, None):
        raise AnswerRefused(f"{where}.value", f"{where}.value: the answer is yes, no or dont_know.")
    ticked = answer.get("ticks") or []
    if not isinstance(ticked, list) or not all(isinstance(key, str) for key in ticked):
        raise AnswerRefused(f"{where}.ticks", f"{where}.ticks: a list of the details' keys.")
    if ticked and not item.ticks:
        raise AnswerRefused(f"{where}.ticks", f"{where}.ticks: {item.label!r} has no details to tick.")
    known = [tick.key for tick in item.ticks]
    unknown = sorted(set(ticked) - set(known))
    if unknown:
        raise AnswerRefused(
            f"{where}.ticks",
            f"{where}.ticks: {', '.join(unknown)} is not a detail of {item.label!r} (it has {', '.join(known)}).",
        )
    if ticked and value != "yes":
        raise AnswerRefused(f"{where}.ticks", f"{where}.ticks: details are ticked only on a yes.")
    stored: dict[str, Any] = {"value": value}
    if item.ticks:
        stored["ticks"] = [key for key in known if key in ticked]
    stored["source"] = str(answer.get("source", ""))[:SOURCE_MAX]
    stored["comment"] = str(answer.get("comment", ""))[:COMMENT_MAX]
    return stored


def professional_value(*, field: ProfessionalField, value: Any, today: date) -> Any:
    """The stored value of a professional's field by its kind, or None to clear it: a list of
    option keys (ticks, in the field's order), yes / no / dont_know (choice), text up to 2000
    characters, or a date as YYYY-MM-DD, not after today."""
    where = f"professional.{field.key}"
    if value is None:
        return None
    if field.kind == "ticks":
        if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
            raise AnswerRefused(where, f"{where}: a list of the options' keys.")
        known = [option.key for option in field.options]
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise AnswerRefused(
                where, f"{where}: {', '.join(unknown)} is not an option of {field.label!r} (it has {', '.join(known)})."
            )
        return [key for key in known if key in value] or None
    if not isinstance(value, str):
        raise AnswerRefused(where, f"{where}: {field.label!r} takes {_takes(field.kind)}.")
    if field.kind == "choice":
        if value not in CHOICES:
            raise AnswerRefused(where, f"{where}: the answer is yes, no or dont_know.")
        return value
    if field.kind == "text":
        if len(value) > TEXT_ANSWER_MAX:
            raise AnswerRefused(where, f"{where}: at most {TEXT_ANSWER_MAX} characters.")
        return value if value.strip() else None
    try:
        day = date.fromisoformat(value) if len(value) == len("YYYY-MM-DD") else None
    except ValueError:
        day = None
    if day is None:
        raise AnswerRefused(where, f"{where}: give the date as YYYY-MM-DD.")
    if day > today:
        raise AnswerRefused(where, f"{where}: the date cannot be in the future.")
    return day.isoformat()


def _takes(kind: str) -> str:
    return {
        "choice": "yes, no or dont_know",
        "text": "text",
        "date": "a date as YYYY-MM-DD",
        "ticks": "a list of the options' keys",
    }[kind]
