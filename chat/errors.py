from chat.protocol.codes import ERROR_CODES


class ProtocolError(Exception):
    """A refused request: `code` is one of protocol.ERROR_CODES and goes back to the client."""

    def __init__(self, code: str, message: str | None = None) -> None:
        assert code in ERROR_CODES, code
        self.code = code
        self.message = message or ERROR_CODES[code]
        super().__init__(f"{code}: {self.message}")


class CloseSocket(ProtocolError):
    """A refusal after which the socket is closed with `close_code`."""

    def __init__(self, code: str, close_code: int, message: str | None = None) -> None:
        super().__init__(code, message)
        self.close_code = close_code
