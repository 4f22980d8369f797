"""A LibreTranslate-compatible HTTP server for tests: the same API (`POST /translate` with q,
source, target, format, api_key; `translatedText`, `detectedLanguage` and `error` in replies),
with a phrase book instead of a translation model. The product's client talks to it over real
HTTP exactly as it would to a helpline's own LibreTranslate."""

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.stand_in import StandIn

POLISH = "Potrzebuję pomocy, mój mąż mnie bije i boję się wrócić do domu"
POLISH_IN_ENGLISH = "I need help, my husband hits me and I am afraid to go home"
API_KEY = "k-123"


class _Handler(BaseHTTPRequestHandler):
    server: "TranslationServer"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        if self.path != "/translate":
            return self._json(404, {"error": "Not found"})
        if body.get("api_key") != API_KEY:
            return self._json(403, {"error": "Invalid API key"})
        source, target, text = body["source"], body["target"], body["q"]
        if target == "cy":
            return self._json(400, {"error": f"{target} is not supported"})
        translated = {("pl", "en", POLISH): POLISH_IN_ENGLISH}.get(
            (source, target, text), f"[{source}->{target}] {text}"
        )
        reply: dict[str, Any] = {"translatedText": translated}
        if source == "auto":
            reply["detectedLanguage"] = {"confidence": 90, "language": "en"}
        return self._json(200, reply)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no text in the test log either


class TranslationServer(StandIn):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.requests: list[dict[str, Any]] = []
