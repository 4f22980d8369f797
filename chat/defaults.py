"""The shipped defaults: the triage flow, and opening hours of all day every day.

Staff change both in the admin; a migration seeds them into every new database. The wording is
marked for translation, so the shipped languages apply until someone rewords a question."""

from typing import Any

from django.apps import apps as django_apps
from django.utils.translation import gettext_noop as _

FLOW: list[dict[str, Any]] = [
    {
        "key": "in_danger",
        "role": "danger",
        "prompt": _("Are you in danger right now?"),
        "options": [("yes", _("Yes"), {"emergency": True}), ("no", _("No"), {})],
    },
    {
        "key": "safe_to_talk",
        "role": "safety",
        "prompt": _("Is it safe for you to chat now?"),
        "options": [("yes", _("Yes"), {}), ("no", _("Not really, but I want to try"), {"caution": True})],
    },
    {
        "key": "about",
        "role": "about",
        "prompt": _("Who is this about?"),
        "options": [
            ("myself", _("Me"), {}),
            ("someone_i_know", _("Someone I know"), {}),
            ("own_behaviour", _("I'm worried about my own behaviour"), {}),
            ("professional", _("I'm a professional"), {}),
        ],
    },
    {
        "key": "language",
        "role": "language",
        "prompt": _("Which language would you like to chat in?"),
        "required": False,
        "options": [],
    },
    {
        "key": "help",
        "role": "help",
        "prompt": _("What help are you looking for?"),
        "help_text": _("Choose any, or none."),
        "multiple": True,
        "required": False,
        "options": [
            ("emotional_support", _("Someone to talk to"), {}),
            ("information", _("Information"), {}),
            ("legal", _("Legal advice"), {}),
            ("housing", _("Housing or refuge"), {}),
            ("police", _("Police"), {}),
            ("children", _("Children's services"), {}),
            ("other", _("Something else"), {}),
        ],
    },
    {
        "key": "region",
        "role": "region",
        "prompt": _("Where are you? We can show you services near you."),
        "help_text": _("You can skip this."),
        "required": False,
        "options": [],
    },
]


def seed_defaults(apps: Any = django_apps) -> None:
    """Idempotent: fills in only what is missing (the flow, the time zone, the hours)."""
    Question = apps.get_model("chat", "TriageQuestion")
    Option = apps.get_model("chat", "TriageOption")
    Schedule = apps.get_model("chat", "Schedule")
    OpeningHours = apps.get_model("chat", "OpeningHours")
    if not Question.objects.exists():
        for order, spec in enumerate(FLOW):
            question = Question.objects.create(
                key=spec["key"],
                role=spec["role"],
                order=order * 10,
                prompt=spec["prompt"],
                help_text=spec.get("help_text", ""),
                multiple=spec.get("multiple", False),
                required=spec.get("required", True),
            )
            for position, (value, label, flags) in enumerate(spec["options"]):
                Option.objects.create(question=question, value=value, label=label, order=position * 10, **flags)
    if not Schedule.objects.exists():
        Schedule.objects.create(time_zone="Europe/London")
    if not OpeningHours.objects.exists():
        # 00:00 to 00:00 is the whole day.
        OpeningHours.objects.bulk_create(OpeningHours(weekday=day, opens="00:00", closes="00:00") for day in range(7))
