"""The error codes of the reply envelope and the close codes of both sockets."""

ERROR_CODES: dict[str, str] = {
    "bad_json": "The frame is not a JSON object.",
    "binary_frame": "Binary frames are not read (the protocol is JSON text frames); the socket stays open.",
    "unknown_type": "The `type` is missing or not one this socket accepts.",
    "invalid": "A field is missing, unknown, of the wrong type or out of range; `message` names it.",
    "text_too_long": "`text` is over 4,000 characters.",
    "frame_too_large": (
        "The frame is over 64 KB (and at most 256 KB); the socket is then closed with 1009. A frame or "
        "message over 256 KB gets no reply: the server closes with 1009 as soon as its header arrives."
    ),
    "rate_limited": "Too many messages on this socket; slow down. Persisting past it closes the socket (4008).",
    "hello_required": (
        "The first message on a socket must be `hello` (the visitor socket also answers `triage.flow` "
        "and `directory.lookup` before it)."
    ),
    "already_said_hello": "`hello` was already accepted on this socket.",
    "invalid_token": "The visitor token is unknown; the socket is then closed with 4001.",
    "token_expired": (
        "The visitor session has expired; the socket is then closed with 4002. "
        "Say `hello` without a token to start again."
    ),
    "seq_ahead": (
        "`last_seq` is past the end of the conversation's log; `message` names the end. Nothing was "
        "changed: ask again (`hello` or `sync`) with `last_seq` at most the end."
    ),
    "not_found": "No such conversation (or transfer) that you may act on.",
    "no_conversation": "The visitor has no open conversation.",
    "conversation_open": "The visitor already has an open conversation.",
    "forbidden": "Your role may not do this (e.g. a whisper from an advisor).",
    "not_holder": "Only the advisor holding the conversation may do this.",
    "already_taken": "Another advisor accepted this conversation first.",
    "at_capacity": "You already hold as many conversations as your capacity allows.",
    "not_on_shift": "Set yourself on shift first.",
    "invalid_state": "The conversation is not in a state that allows this.",
    "conversation_closed": "The conversation has ended.",
    "queue_empty": "No conversation is waiting in the queues you serve.",
    "duplicate_client_id": "That client_msg_id was already used by another sender in this conversation.",
    "target_unavailable": "The advisor to transfer to is not on shift, not connected, or at capacity.",
    "unknown_queue": "No such queue.",
    "closed": "The chat is closed now (opening hours); `hello`'s `service.hours` says when it opens.",
    "triage_incomplete": "A required triage question has no answer; `message` names it.",
    "unknown_region": "No such region in the directory.",
    "paused": "New chats are paused for now (supervisors' surge pause); `message` says what to tell the visitor.",
    "unknown_language": "That language is not one the chat offers.",
    "translation_unavailable": "No machine translation is configured; use an interpreter.",
    "translation_failed": "The translation service could not translate this now; `message` says why.",
    "unavailable": (
        "The chat is not available to this visitor for now (a time-limited block by staff). Also sent "
        "with `id: null` when the block comes mid-chat. The socket stays open for `directory.lookup` "
        "and `triage.flow`; show the visitor a neutral message and the other ways to get help."
    ),
    "already_blocked": "This visitor is already blocked; a supervisor can lift the block and block again.",
    "block_ended": "That block has already been lifted or has expired.",
    "feedback_given": "This chat's feedback was already given.",
    "no_ended_chat": "No chat of this visitor has ended in the last hour, so there is nothing to give feedback on.",
    "internal_error": "Something failed on the server; nothing was stored. Retry with the same ids.",
}


CLOSE_CODES: dict[int, str] = {
    1002: "The client broke the websocket protocol (an unmasked or malformed frame), sent by the server.",
    1007: "A text frame that is not valid UTF-8, sent by the server.",
    1009: (
        "A frame or a message (its fragments together) over 64 KB: after a `frame_too_large` reply "
        "up to 256 KB, at once over 256 KB (without reading the rest)."
    ),
    4001: "Invalid visitor token.",
    4002: "Visitor session expired.",
    4003: "Staff socket without a signed-in staff session (or the account was deactivated).",
    4008: "Flood: the socket kept sending past the rate limit.",
    4010: "Staff signed out: by themselves, after the idle timeout, or because the account lost access.",
}
