"""Rows for tests, one module per app: `chat` (queues, chats in a given state), `agents` (staff
and signed-in clients), `risk` (cases). Tests use the package: `from tests import factories`."""

from agents.models import StaffProfile
from tests.factories.agents import signed_in, staff, staff_async
from tests.factories.chat import chat_with, closed_chat, queues
from tests.factories.risk import assessment_answered, case_with_chat, safeguarding_decided

__all__ = [
    "StaffProfile",
    "assessment_answered",
    "case_with_chat",
    "chat_with",
    "closed_chat",
    "queues",
    "safeguarding_decided",
    "signed_in",
    "staff",
    "staff_async",
]
