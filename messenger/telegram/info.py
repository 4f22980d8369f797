"""The public information the bot gives as text: the directory (national lines and a region's
services; a refuge's address never, only its contact route, as chat.directory gives it), the
opening hours and the emergency number."""

from typing import Any

from chat import directory, hours
from chat.errors import ProtocolError
from messenger.telegram.texts import text


def _service(entry: dict[str, Any], language: str) -> str:
    parts = [entry["name"]]
    if entry["phone"]:
        parts.append(entry["phone"])
    if entry["open_24h"]:
        parts.append(text("open_24h", language))
    elif entry["hours"]:
        parts.append(entry["hours"])
    if entry["address"]:  # never a refuge's: chat.directory leaves it out
        parts.append(entry["address"])
    if entry["contact_route"]:
        parts.append(entry["contact_route"])
    if entry["website"]:
        parts.append(entry["website"])
    return " - ".join(parts)


def services(*, region: str, language: str) -> str:
    try:
        found = directory.directory_lookup(region=region or None, language=language)
    except ProtocolError:  # a region removed since it was chosen: the national lines still help
        found = directory.directory_lookup(region=None, language=language)
    lines = [text("national", language), *(_service(e, language) for e in found["national"])]
    if found["region"] is not None:
        lines += ["", f"{text('local', language)} {found['region']['name']}"]
        lines += [_service(e, language) for e in found["local"]] or [text("no_services", language)]
    return "\n".join(lines)


def closed(*, language: str) -> str:
    status = hours.opening_status(language=language)
    lines = [text("closed", language)]
    if status["holiday"]:
        lines.append(status["holiday"])
    lines += [f"{day['name']}: {', '.join(day['hours'])}" for day in status["week"]]
    lines += ["", text("closed_emergency", language), "", services(region="", language=language)]
    return "\n".join(lines)
