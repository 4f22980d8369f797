"""Machine translation for advisors, behind one small interface.

The shipped provider speaks the LibreTranslate HTTP API (`POST /translate`, `GET /languages`),
which a helpline can host itself so that visitors' words never leave it. With no provider
configured, `provider()` is None and the console tells the advisor that no translation is
available rather than pretending. Translations are shown to the advisor only: never stored,
never logged.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from chat.errors import ProtocolError


class TranslationFailed(Exception):
    """The provider could not translate (down, timed out, refused the pair)."""


@dataclass(frozen=True)
class Translated:
    text: str
    source: str  # the language the provider read, when it says so (auto-detected sources)
    target: str


class Translator(Protocol):
    name: str

    async def translate(self, *, text: str, source: str, target: str) -> Translated: ...


class LibreTranslate:
    """A LibreTranslate-compatible server. `source` may be "auto"."""

    name = "libretranslate"

    def __init__(self, *, url: str, api_key: str = "", timeout: float = 8.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    async def translate(self, *, text: str, source: str, target: str) -> Translated:
        import httpx  # here: only a deployment with a provider loads the HTTP client

        body = {"q": text, "source": source or "auto", "target": target, "format": "text"}
        if self.api_key:
            body["api_key"] = self.api_key
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(f"{self.url}/translate", json=body)
        except httpx.HTTPError as error:
            raise TranslationFailed(f"The translation service did not answer ({type(error).__name__}).") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict) or not isinstance(data.get("translatedText"), str):
            reason = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), str) else None
            raise TranslationFailed(reason or f"The translation service refused ({response.status_code}).")
        detected = data.get("detectedLanguage")
        read = detected.get("language") if isinstance(detected, dict) else None
        return Translated(text=data["translatedText"], source=str(read or source), target=target)


def available() -> bool:
    return bool(settings.TRANSLATION["URL"])


def provider() -> Translator | None:
    if not available():
        return None
    config = settings.TRANSLATION
    return LibreTranslate(url=config["URL"], api_key=config["API_KEY"], timeout=float(config["TIMEOUT_SECONDS"]))


async def translate_reply(*, text: str, source: str, target: str) -> dict[str, Any]:
    """The console's `translate` reply: the text in `target` from the configured provider (as it
    is when the two languages are the same)."""
    translator = provider()
    if translator is None:
        raise ProtocolError("translation_unavailable")
    if source == target:
        return {"text": text, "source": source, "target": target, "provider": translator.name}
    try:
        done = await translator.translate(text=text, source=source, target=target)
    except TranslationFailed as error:
        raise ProtocolError("translation_failed", str(error)) from None
    return {"text": done.text, "source": done.source, "target": done.target, "provider": translator.name}
