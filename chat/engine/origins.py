"""Origin checks for the websockets.

Channels' AllowedHostsOriginValidator trusts every origin when ALLOWED_HOSTS is "*", and the
widget is embedded on other sites, so each socket has its own explicit list of allowed origins
(read from settings on every handshake, so a change of settings applies at once).
"""

from typing import Any

from channels.security.websocket import WebsocketDenier
from django.conf import settings


class ExactOriginValidator:
    def __init__(self, application: Any, setting: str) -> None:
        self.application = application
        self.setting = setting

    def allowed(self, origin: str | None) -> bool:
        if not origin:
            return False
        allowed: list[str] = settings.CHAT[self.setting]
        return origin.rstrip("/") in {o.rstrip("/") for o in allowed}

    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """Returns the application's coroutine rather than awaiting it: no frame of this check
        stays alive for the life of every socket (a few hundred bytes each)."""
        origin = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                origin = value.decode("latin1")
                break
        if not self.allowed(origin):
            # Refused at the handshake: the browser sees HTTP 403 and close code 1006.
            denier = WebsocketDenier()
            return denier(scope, receive, send)
        return self.application(scope, receive, send)
