"""risk: case records opened on a chat, the way an advisor opens one."""

from typing import Any

from risk import services as risk
from risk.models import CaseRecord
from tests.factories.chat import chat_with


def case_with_chat(user: Any, **fields: Any) -> CaseRecord:
    """A case the user opened on a chat they hold (`chat_with`)."""
    return risk.case_open(user=user, conversation_id=chat_with(user).pk, **fields)
