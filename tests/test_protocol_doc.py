import re

from chat.protocol.codes import ERROR_CODES
from chat.protocol.staff import STAFF_INBOUND
from chat.protocol.visitor import VISITOR_INBOUND
from chat.protocol_doc import doc_path, generated_part, render_reference


def test_document_matches_the_schemas() -> None:
    document = doc_path().read_text()
    assert generated_part(document) == render_reference(), (
        "docs/protocol.md is out of date: run `python manage.py protocol_doc`"
    )


def test_every_inbound_type_has_a_handler_and_a_section() -> None:
    from chat.consumers.staff import StaffConsumer
    from chat.consumers.visitor import VisitorConsumer

    document = doc_path().read_text()
    for consumer, models in ((VisitorConsumer, VISITOR_INBOUND), (StaffConsumer, STAFF_INBOUND)):
        types = {m.model_fields["type"].annotation.__args__[0] for m in models}  # type: ignore[union-attr]
        assert types == set(consumer.handlers)
        for type_name in types:
            assert f"#### `{type_name}`" in document


def test_every_error_code_used_in_code_is_documented() -> None:
    from pathlib import Path

    used: set[str] = set()
    for path in [*Path("chat").rglob("*.py"), *Path("agents").rglob("*.py")]:
        used |= set(re.findall(r'(?:ProtocolError|CloseSocket|reply_error)\([^"\n)]*"([a-z_]+)"', path.read_text()))
    assert used, "the scan found no error codes"
    assert used <= set(ERROR_CODES), used - set(ERROR_CODES)
