"""The widget's languages: every shipped catalogue is complete and keeps every placeholder and
tag, the Telegram bot's texts included, and the pages come out in the language asked for (Arabic
right to left)."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from chat import widget
from messenger.telegram import texts

LOCALE = Path(settings.LOCALE_PATHS[0])
SHIPPED = [code for code, _ in settings.LANGUAGES if code != "en"]
MARKUP = re.compile(r"%\(\w+\)s|\{\w+\}|</?\w+>")


def catalogue(language: str) -> dict[str, str]:
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as mo:
        return {k: v for k, v in gettext.GNUTranslations(mo)._catalog.items() if k}  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", SHIPPED)
def test_catalogue_is_complete_and_keeps_placeholders(language: str) -> None:
    entries = catalogue(language)
    assert len(entries) > 100
    for source, translated in entries.items():
        assert translated.strip(), f"{language}: {source!r} is not translated"
        assert sorted(MARKUP.findall(source)) == sorted(MARKUP.findall(translated)), (language, source, translated)
    # Everything the widget's script says is in it.
    with translation.override("en"):
        english = widget.strings()
    assert set(english.values()) <= set(entries), set(english.values()) - set(entries)
    # And everything the Telegram bot says.
    assert set(texts.DEFAULTS.values()) <= set(entries), set(texts.DEFAULTS.values()) - set(entries)


@pytest.mark.parametrize(
    ("language", "direction", "leave"),
    [("cy", "ltr", "Gadael y wefan hon"), ("pl", "ltr", "Opuść tę stronę"), ("ar", "rtl", "مغادرة هذا الموقع")],
)
@pytest.mark.django_db
def test_the_widget_speaks_the_language_asked_for(language: str, direction: str, leave: str) -> None:
    html = Client().get("/widget/frame/", {"lang": language}).content.decode()
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert leave in html
    assert "Before you start" not in html
    safety = Client().get("/staying-safe/", {"lang": language}).content.decode()
    assert "Staying safe online" not in safety
