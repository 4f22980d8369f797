import logging


class NoClientAddress(logging.Filter):
    """Drops the request and ASGI scope that Django and Channels attach to some records: they
    carry the client's address, which is never logged (a JSON formatter would print them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in ("request", "scope", "client"):
            if name in record.__dict__:
                record.__dict__[name] = "[not logged]"
        return True
