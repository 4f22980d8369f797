"""The triage flow: the questions the bot asks, read from the admin-edited data, and the check
that turns a visitor's answers into what routing needs.

The flow is data (TriageQuestion/TriageOption). What an answer does comes from its question's
role and its option's flags, never from matching wording, so staff may reword, reorder, add or
retire questions without a code change."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import translation

from agents.models import StaffProfile
from chat import reference
from chat.errors import ProtocolError
from chat.setup_models import Region, TriageOption, TriageQuestion

Role = TriageQuestion.Role
Answer = str | list[str]


def localized(text: str, override: str | None) -> str:
    """The wording in the active language: the admin's own translation when given, else the
    shipped translation of the default wording, else the wording as written."""
    if override:
        return override
    return translation.gettext(text) if text else ""


def language_name(code: str) -> str:
    try:
        return str(translation.get_language_info(code)["name_local"])
    except KeyError:
        return code


@reference.memo(ttl=10, models=("agents.staffprofile:languages",))
def offered_languages() -> list[str]:
    """The widget's own languages, then any other language an advisor on the staff speaks."""
    codes = [code for code, _ in settings.LANGUAGES]
    for languages in StaffProfile.objects.values_list("languages", flat=True):
        for code in languages or []:
            if isinstance(code, str) and code not in codes:
                codes.append(code)
    return codes


@dataclass
class Option:
    value: str
    label: str
    emergency: bool = False
    caution: bool = False


@dataclass
class Question:
    key: str
    role: str
    prompt: str
    help_text: str
    multiple: bool
    required: bool
    options: list[Option] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "role": self.role,
            "prompt": self.prompt,
            "help_text": self.help_text,
            "multiple": self.multiple,
            "required": self.required,
            "options": [vars(option) for option in self.options],
        }


def _options(question: TriageQuestion, language: str) -> list[Option]:
    if question.role == Role.LANGUAGE:
        return [Option(value=code, label=language_name(code)) for code in offered_languages()]
    if question.role == Role.REGION:
        return [
            Option(value=r.slug, label=localized(r.name, r.translations.get(language))) for r in Region.objects.all()
        ]
    options: list[TriageOption] = list(question.options.all())
    return [
        Option(
            value=o.value,
            label=localized(o.label, o.translations.get(language)),
            emergency=o.emergency,
            caution=o.caution,
        )
        for o in options
    ]


@reference.memo(
    ttl=10, models=("chat.triagequestion", "chat.triageoption", "chat.region", "agents.staffprofile:languages")
)
def triage_flow(*, language: str) -> list[Question]:
    """The active questions in order, worded in `language`. A question left with no options (a
    region question before any region exists) is not asked. Cached (chat.reference): callers
    must not change what it returns."""
    flow = []
    with translation.override(language):
        for question in TriageQuestion.objects.filter(active=True).prefetch_related("options"):
            own = question.translations.get(language) or {}
            options = _options(question, language)
            if not options:
                continue
            flow.append(
                Question(
                    key=question.key,
                    role=question.role,
                    prompt=localized(question.prompt, own.get("prompt")),
                    help_text=localized(question.help_text, own.get("help_text")),
                    multiple=question.multiple,
                    required=question.required,
                    options=options,
                )
            )
    return flow


@dataclass
class TriageResult:
    """What the answers mean for routing, plus what the advisor reads."""

    answers: dict[str, Answer]
    in_danger: bool = False
    safe_to_talk: bool = True
    about: str = ""
    language: str = ""
    help: list[str] = field(default_factory=list)
    region: str = ""
    summary: list[dict[str, str]] = field(default_factory=list)

    def stored(self) -> dict[str, Any]:
        return {
            "in_danger": self.in_danger,
            "safe_to_talk": self.safe_to_talk,
            "about": self.about,
            "language": self.language,
            "help": self.help,
            "region": self.region,
            "answers": self.answers,
            "summary": self.summary,
        }


def triage_check(*, answers: Mapping[str, Answer]) -> TriageResult:
    """Check answers against the active flow; raise ProtocolError naming the first problem."""
    # Staff read the summary in the default language, whatever the visitor chose.
    flow = {q.key: q for q in triage_flow(language=settings.LANGUAGE_CODE)}
    for key in answers:
        if key not in flow:
            raise ProtocolError("invalid", f"answers.{key}: no such triage question")
    result = TriageResult(answers={})
    for key, question in flow.items():
        answer = answers.get(key)
        if answer is None or answer == []:
            if question.required:
                raise ProtocolError("triage_incomplete", f"answers.{key}: an answer is needed")
            continue
        chosen = answer if isinstance(answer, list) else [answer]
        if question.multiple != isinstance(answer, list) or len(set(chosen)) != len(chosen):
            expected = "a list of distinct values" if question.multiple else "one value"
            raise ProtocolError("invalid", f"answers.{key}: expected {expected}")
        by_value = {option.value: option for option in question.options}
        unknown = [value for value in chosen if value not in by_value]
        if unknown:
            raise ProtocolError("invalid", f"answers.{key}: '{unknown[0]}' is not one of its options")
        options = [by_value[value] for value in chosen]
        result.answers[key] = answer
        answer_text = ", ".join(o.label for o in options)
        result.summary.append({"key": key, "role": question.role, "question": question.prompt, "answer": answer_text})
        result.in_danger |= any(o.emergency for o in options)
        result.safe_to_talk &= not any(o.caution for o in options)
        if question.role == Role.ABOUT:
            result.about = chosen[0]
        elif question.role == Role.LANGUAGE:
            result.language = chosen[0]
        elif question.role == Role.HELP:
            result.help = chosen
        elif question.role == Role.REGION:
            result.region = chosen[0]
    return result
