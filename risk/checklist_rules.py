"""What a checklist definition may hold, the defaults for what it leaves out, and the rules a new
version must keep for scoring, the referral criteria and the console to work.

A definition is the stored form (`ChecklistVersion.definition`): the five blocks of items and,
since 2026.2, the version's audience, score bands, the follow-up blocks' triggers, the prompts to
consider professional judgement, tick-which details on items, and the professional's section. A
version published before those existed (2026.1) leaves them out and reads as the defaults here,
which are what the code did before they were data.
"""

import re
from typing import Any

from django.conf import settings

BLOCKS = ("before_you_ask", "core", "children", "stalking", "honour")
BLOCK_TITLES = {
    "before_you_ask": "Before you ask",
    "core": "Core (scored)",
    "children": "Children and dependants",
    "stalking": "Stalking",
    "honour": "Honour-based abuse",
}
# The parts of a definition beside the blocks; each may be left out (then the default reads).
PARTS = ("audience", "bands", "triggers", "prompts", "professional")
PART_TITLES = {
    "audience": "Audience",
    "bands": "Bands",
    "triggers": "Triggers",
    "prompts": "Prompts",
    "professional": "The professional's section",
}
# Blocks a yes to a core item may open. Children also open on the advisor's "children in the
# household", honour on their flag; stalking opens only from its triggers.
FOLLOW_UPS = ("children", "stalking", "honour")
OPENED_ONLY_BY_TRIGGERS = ("stalking",)
KINDS = ("ticks", "choice", "text", "date")
CHOICES = ("yes", "no", "dont_know")

KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,20}$")
# Tick keys (details of an answer) and the professional's fields and options.
TICK_KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,30}$")
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")
LABEL_MAX = 100
QUESTION_MAX = 500
PROMPT_TEXT_MAX = 500
TEXT_ANSWER_MAX = 2000
TICKS_MAX = 10
OPTIONS_MAX = 20
PROMPTS_MAX = 20
PROFESSIONAL_MAX = 30
AGE_MIN, AGE_MAX = 10, 120
# MARAC hears victims aged 16 and over.
MARAC_MIN_AGE = 16

DEFAULT_AUDIENCE: dict[str, Any] = {
    "key": "adult",
    "label": "Adults (16 and over)",
    "min_age": 16,
    "max_age": None,
    "marac": True,
}
DEFAULT_TRIGGERS: dict[str, list[str]] = {"stalking": ["c08"], "honour": ["c04"]}
# Local guidance: answers that call for thought below the high band.
DEFAULT_PROMPTS: list[dict[str, Any]] = [
    {
        "key": "strangulation",
        "all": ["c15"],
        "any": [],
        "text": "Strangling or choking was answered yes. It is one of the strongest signs of a future "
        "homicide, whatever the score: consider professional judgement.",
    },
    {
        "key": "threats_to_kill",
        "all": ["c14"],
        "any": [],
        "text": "Threats to kill were answered yes. Take them seriously even below the high band: "
        "consider professional judgement.",
    },
    {
        "key": "stalking",
        "all": ["c08"],
        "any": [],
        "text": "Stalking or persistent unwanted contact was answered yes. Ask the stalking questions "
        "and consider professional judgement.",
    },
    {
        "key": "separation_control_violence",
        "all": ["c06", "c12"],
        "any": ["c01", "c13", "c15"],
        "text": "A recent separation together with controlling behaviour and violence: the most "
        "dangerous time. Consider professional judgement.",
    },
]


def default_bands() -> dict[str, Any]:
    """The bands of a version that states none: the settings' thresholds, medium as local practice."""
    return {
        "high_from": int(settings.RISK["HIGH_FROM"]),
        "medium_from": int(settings.RISK["MEDIUM_FROM"]),
        "medium_is_local": True,
    }


Problems = list[tuple[str | None, str]]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_problem(value: Any, what: str, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"the {what} is empty."
    if len(value.strip()) > limit:
        return f"the {what} is longer than {limit} characters."
    return None


def _options(where: str, value: Any, *, noun: str, most: int) -> list[str]:
    """Problems with a list of {key, label} (an item's ticks, a field's options)."""
    if not isinstance(value, list) or not value:
        return [f"{where}: the {noun} are a list of at least one {{key, label}}."]
    if len(value) > most:
        return [f"{where}: at most {most} {noun}."]
    problems, seen = [], set()
    for n, option in enumerate(value, start=1):
        if not isinstance(option, dict) or set(option) != {"key", "label"}:
            problems.append(f"{where}, {noun} {n}: each has exactly a key and a label.")
            continue
        key = option["key"]
        if not isinstance(key, str) or not TICK_KEY_PATTERN.match(key):
            problems.append(f"{where}, {noun} {n}: the key {key!r} must be 1 to 30 lower-case letters, digits or _.")
        elif key in seen:
            problems.append(f"{where}: the key {key!r} is used twice among the {noun}.")
        seen.add(key)
        label_problem = _text_problem(option["label"], "label", LABEL_MAX)
        if label_problem:
            problems.append(f"{where}, {noun} {n}: {label_problem}")
    return problems


def _blocks(data: dict[str, Any], problems: Problems) -> None:
    seen: dict[str, str] = {}
    for name in BLOCKS:
        title = BLOCK_TITLES[name]
        items = data.get(name)
        if not isinstance(items, list):
            problems.append((name, f"{title}: the block is missing or is not a list of items."))
            continue
        for n, item in enumerate(items, start=1):
            where = f"{title}, item {n}"
            allowed = {"key", "label", "question"} | ({"ticks"} if name != "before_you_ask" else set())
            if not isinstance(item, dict) or not {"key", "label", "question"} <= set(item) <= allowed:
                problems.append((name, f"{where}: an item has exactly a key, a label and a question."))
                continue
            if not all(isinstance(item[field], str) for field in ("key", "label", "question")):
                problems.append((name, f"{where}: the key, label and question are text."))
                continue
            key = item["key"]
            if KEY_PATTERN.match(key):
                where = f"{where} ({key})"
            else:
                problems.append((name, f"{where}: the key {key!r} must be 1 to 20 lower-case letters, digits or _."))
            if key in seen:
                problems.append((name, f"{where}: the key {key!r} is already used in {BLOCK_TITLES[seen[key]]}."))
            seen.setdefault(key, name)
            for field, limit in (("label", LABEL_MAX), ("question", QUESTION_MAX)):
                problem = _text_problem(item[field], field, limit)
                if problem:
                    problems.append((name, f"{where}: {problem}"))
            if "ticks" in item:
                problems.extend((name, p) for p in _options(where, item["ticks"], noun="ticks", most=TICKS_MAX))


def _audience(value: Any, problems: Problems) -> None:
    title = PART_TITLES["audience"]
    if not isinstance(value, dict) or not {"key", "label", "min_age", "marac"} <= set(value) <= {
        *DEFAULT_AUDIENCE,
    }:
        problems.append(("audience", f"{title}: an object with a key, a label, min_age, marac and maybe max_age."))
        return
    if not isinstance(value["key"], str) or not KEY_PATTERN.match(value["key"]):
        problems.append(("audience", f"{title}: the key must be 1 to 20 lower-case letters, digits or _."))
    label_problem = _text_problem(value["label"], "label", LABEL_MAX)
    if label_problem:
        problems.append(("audience", f"{title}: {label_problem}"))
    low, high = value["min_age"], value.get("max_age")
    if not _is_int(low) or not AGE_MIN <= low <= AGE_MAX:
        problems.append(("audience", f"{title}: min_age is a whole number of years from {AGE_MIN} to {AGE_MAX}."))
    elif high is not None and (not _is_int(high) or not low <= high <= AGE_MAX):
        problems.append(("audience", f"{title}: max_age is empty or a whole number from min_age to {AGE_MAX}."))
    if not isinstance(value["marac"], bool):
        problems.append(("audience", f"{title}: marac is true or false."))
    elif value["marac"] and _is_int(low) and AGE_MIN <= low < MARAC_MIN_AGE:
        problems.append(("audience", f"{title}: MARAC is for victims aged {MARAC_MIN_AGE} and over; min_age is {low}."))


def _bands(data: dict[str, Any], core_count: int, problems: Problems) -> None:
    title = PART_TITLES["bands"]
    stated = "bands" in data
    value = data.get("bands")
    if stated and (not isinstance(value, dict) or set(value) != {"high_from", "medium_from", "medium_is_local"}):
        problems.append(("bands", f"{title}: an object with high_from, medium_from and medium_is_local."))
        return
    bands: dict[str, Any] = value if isinstance(value, dict) else default_bands()
    high, medium = bands["high_from"], bands["medium_from"]
    if not _is_int(high) or (medium is not None and not _is_int(medium)):
        problems.append(("bands", f"{title}: high_from is a whole number, medium_from one or empty."))
    elif not isinstance(bands["medium_is_local"], bool):
        problems.append(("bands", f"{title}: medium_is_local is true or false."))
    elif high > core_count:
        problems.append(
            ("core", f"Core: with {core_count} items a score of {high} (visible high risk) could never be reached.")
        )
    elif high <= 0 or (medium is not None and not 0 < medium < high):
        problems.append(("bands", f"{title}: 0 < medium_from < high_from (medium_from {medium}, high_from {high})."))


def _core_keys_problems(part: str, where: str, keys: Any, core_keys: set[str], default_of: str | None) -> Problems:
    """Problems with a list of core item keys. `default_of` names the default (left out of the
    definition) that lists them: then a missing key is the core block's problem."""
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        return [(part, f"{where}: a list of core item keys.")]
    missing = [key for key in keys if key not in core_keys]
    if default_of is not None:
        return [("core", f"Core: keep an item with the key {key}; {default_of} names it.") for key in missing]
    return [(part, f"{where}: {', '.join(missing)} is not a core item.")] if missing else []


def _triggers(data: dict[str, Any], core_keys: set[str], problems: Problems) -> None:
    title = PART_TITLES["triggers"]
    stated = "triggers" in data
    triggers = data["triggers"] if stated else DEFAULT_TRIGGERS
    if not isinstance(triggers, dict):
        problems.append(("triggers", f"{title}: an object naming, for each follow-up block, the core items."))
        return
    for block, keys in triggers.items():
        if block not in FOLLOW_UPS:
            problems.append(("triggers", f"{title}: {block!r} is not a follow-up block ({', '.join(FOLLOW_UPS)})."))
            continue
        if not stated:
            # The shipped wording of the console: a yes to it opens the ... questions.
            for key in keys:
                if key not in core_keys:
                    problems.append(
                        (
                            "core",
                            f"Core: keep an item with the key {key}; a yes to it opens the "
                            f"{BLOCK_TITLES[block].lower()} questions in the console.",
                        )
                    )
            continue
        where = f"{title}, {BLOCK_TITLES[block]}"
        if isinstance(keys, list) and not keys:
            problems.append(("triggers", f"{where}: name at least one core item."))
        problems.extend(_core_keys_problems("triggers", where, keys, core_keys, None))
        if isinstance(data.get(block), list) and not data[block]:
            problems.append(("triggers", f"{where}: the block it opens has no items."))
    for block in OPENED_ONLY_BY_TRIGGERS:
        if isinstance(data.get(block), list) and data[block] and block not in triggers:
            problems.append(("triggers", f"{title}: nothing opens the {BLOCK_TITLES[block].lower()} questions."))


def _prompts(data: dict[str, Any], core_keys: set[str], problems: Problems) -> None:
    title = PART_TITLES["prompts"]
    stated = "prompts" in data
    prompts = data["prompts"] if stated else DEFAULT_PROMPTS
    if not isinstance(prompts, list) or len(prompts) > PROMPTS_MAX:
        problems.append(("prompts", f"{title}: a list of at most {PROMPTS_MAX} prompts."))
        return
    seen = set()
    for n, prompt in enumerate(prompts, start=1):
        where = f"{title}, prompt {n}"
        if not isinstance(prompt, dict) or set(prompt) != {"key", "all", "any", "text"}:
            problems.append(("prompts", f"{where}: a prompt has exactly a key, all, any and a text."))
            continue
        key = prompt["key"]
        if not isinstance(key, str) or not TICK_KEY_PATTERN.match(key):
            problems.append(("prompts", f"{where}: the key {key!r} must be 1 to 30 lower-case letters, digits or _."))
        elif key in seen:
            problems.append(("prompts", f"{where}: the key {key!r} is used twice."))
        else:
            where = f"{where} ({key})"
        seen.add(key)
        default_of = None if stated else f"the default prompt {key}"
        for part in ("all", "any"):
            problems.extend(_core_keys_problems("prompts", f"{where}, {part}", prompt[part], core_keys, default_of))
        if isinstance(prompt["all"], list) and isinstance(prompt["any"], list) and not prompt["all"] + prompt["any"]:
            problems.append(("prompts", f"{where}: name at least one core item in all or any."))
        text_problem = _text_problem(prompt["text"], "text", PROMPT_TEXT_MAX)
        if text_problem:
            problems.append(("prompts", f"{where}: {text_problem}"))


def _professional(value: Any, problems: Problems) -> None:
    title = PART_TITLES["professional"]
    if not isinstance(value, list) or len(value) > PROFESSIONAL_MAX:
        problems.append(("professional", f"{title}: a list of at most {PROFESSIONAL_MAX} fields."))
        return
    seen = set()
    for n, field in enumerate(value, start=1):
        where = f"{title}, field {n}"
        if not isinstance(field, dict) or not {"key", "label", "kind"} <= set(field) <= {
            "key",
            "label",
            "kind",
            "options",
        }:
            problems.append(("professional", f"{where}: a field has a key, a label, a kind and maybe options."))
            continue
        key, kind = field["key"], field["kind"]
        if not isinstance(key, str) or not TICK_KEY_PATTERN.match(key):
            problems.append(
                ("professional", f"{where}: the key {key!r} must be 1 to 30 lower-case letters, digits or _.")
            )
        elif key in seen:
            problems.append(("professional", f"{where}: the key {key!r} is used twice."))
        else:
            where = f"{where} ({key})"
        seen.add(key)
        label_problem = _text_problem(field["label"], "label", LABEL_MAX)
        if label_problem:
            problems.append(("professional", f"{where}: {label_problem}"))
        if kind not in KINDS:
            problems.append(("professional", f"{where}: the kind {kind!r} is not one of {', '.join(KINDS)}."))
        elif kind == "ticks":
            problems.extend(
                ("professional", p) for p in _options(where, field.get("options"), noun="options", most=OPTIONS_MAX)
            )
        elif "options" in field:
            problems.append(("professional", f"{where}: only a field of kind ticks has options."))


def validate(data: Any) -> Problems:
    """Every problem with a definition, as (block or part or None, message for people). Empty when
    the definition can be published: well formed, unique keys, nothing empty, and what scoring, the
    referral criteria and the console depend on still there."""
    if not isinstance(data, dict):
        return [(None, "The definition must be an object with the blocks " + ", ".join(BLOCKS) + ".")]
    problems: Problems = []
    unknown = sorted(set(data) - set(BLOCKS) - set(PARTS))
    if unknown:
        problems.append(
            (
                None,
                f"Unknown block(s) {', '.join(unknown)}; the blocks are {', '.join(BLOCKS)}, the other parts "
                f"{', '.join(PARTS)}.",
            )
        )
    _blocks(data, problems)
    if "audience" in data:
        _audience(data["audience"], problems)
    core = data.get("core")
    if not isinstance(core, list):
        return problems
    core_keys = {item["key"] for item in core if isinstance(item, dict) and isinstance(item.get("key"), str)}
    _bands(data, len(core), problems)
    _triggers(data, core_keys, problems)
    _prompts(data, core_keys, problems)
    if "professional" in data:
        _professional(data["professional"], problems)
    return problems


def validate_version_label(label: str) -> str | None:
    """The problem with a version label, or None."""
    if not VERSION_PATTERN.match(label):
        return "A version label is 1 to 20 letters, digits, dots, dashes or _, e.g. 2026.2."
    return None
