"""Offline language detection of a visitor's first messages.

Uses lingua's own models, shipped inside the package (nothing is fetched at run time), in its
low-accuracy mode: trigram models only, a fraction of the full models' memory, and quick enough
for every first message. The detector is built on first use in each process, never at import, so a
process that never sees a chat pays nothing.

A guess is only returned when it is clear: enough letters, one candidate well ahead of the next.
"hi" or "ok" say nothing about a language, and a wrong suggestion is worse than none.
"""

import functools
import threading
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from lingua import Language, LanguageDetector

MIN_LETTERS = 8
MIN_CONFIDENCE = 0.75

_lock = threading.Lock()


def _candidates() -> list["Language"]:
    # Imported here: a server process that never reads a chat does not pay for lingua at all.
    from lingua import IsoCode639_1, Language

    languages = []
    for code in settings.CHAT["DETECT_LANGUAGES"]:
        try:
            iso = getattr(IsoCode639_1, code.strip().upper())
        except AttributeError:
            continue  # not one lingua knows; detection simply never answers it
        languages.append(Language.from_iso_code_639_1(iso))
    return languages


@functools.cache
def _detector(candidates: tuple[Any, ...]) -> "LanguageDetector":
    from lingua import LanguageDetectorBuilder

    return (
        LanguageDetectorBuilder.from_languages(*candidates)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )


def detector() -> "LanguageDetector | None":
    candidates = tuple(_candidates())
    if len(candidates) < 2:
        return None
    with _lock:  # one build per process even when two threads ask at once
        return _detector(candidates)


def detect(text: str) -> str | None:
    """The ISO 639-1 code of the language `text` is written in, or None when unsure."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None
    found = detector()
    if found is None:
        return None
    values = found.compute_language_confidence_values(text)
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return values[0].language.iso_code_639_1.name.lower()


def suggestion_text(code: str) -> str:
    """The `language_suggested` entry the visitor (and the advisor) reads, written for the visitor
    and in the language their words were detected in: they may not read the chat's language."""
    from django.utils import translation

    try:
        name = str(translation.get_language_info(code)["name_local"])
    except KeyError:
        name = code
    with translation.override(code):
        return translation.gettext("It looks like you are writing in %(language)s. You can switch this chat to it.") % {
            "language": name
        }
