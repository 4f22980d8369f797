"""Masking a secret a visitor typed into their chat: the words of a return phrase, once an
advisor has used them to link the chat to its case. The words are a credential: kept in the log
in clear, they would sit in every transcript and export made later, which the phrase's hash was
meant to spare. Only the visitor's own text entries of the one chat are touched; the entries keep
their place and numbers, and what was masked is said in the text itself."""

import re
import unicodedata
from collections.abc import Sequence
from uuid import UUID

from chat.engine import events
from chat.models import Message
from chat.protocol.outbound import EntryAmended

MASK = "[return phrase removed]"


def _pattern(words: Sequence[str]) -> re.Pattern[str]:
    """The words in order, whatever separates them, as whole words, in any case."""
    separator = r"[^\w]+"
    return re.compile(r"(?<!\w)" + separator.join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


def visitor_words_mask(*, conversation_id: UUID, words: Sequence[str]) -> list[int]:
    """Replace `words` (in order) in the visitor's text entries of the chat with MASK; the seqs
    of the entries changed. An entry whose text holds the words only once normalised (full-width
    letters, say) is masked whole. The caller holds the transaction; once it commits, the
    screens showing the chat (the visitor's and the staff's) are told the new text."""
    if not words:
        return []
    pattern = _pattern(words)
    normalised_pattern = _pattern([unicodedata.normalize("NFKC", w).casefold() for w in words])
    masked: list[int] = []
    amended: list[events.Event] = []
    entries = Message.objects.select_for_update().filter(
        conversation_id=conversation_id, sender_kind=Message.Sender.VISITOR, kind=Message.Kind.TEXT
    )
    for entry in entries.only("pk", "seq", "public_seq", "text").order_by("seq"):
        text, count = pattern.subn(MASK, entry.text)
        if not count and normalised_pattern.search(unicodedata.normalize("NFKC", entry.text).casefold()):
            text, count = MASK, 1
        if count:
            Message.objects.filter(pk=entry.pk).update(text=text)
            masked.append(entry.seq)
            amended.append(_amended(events.conv_staff_group(conversation_id), conversation_id, entry.seq, text))
            if entry.public_seq is not None:
                group = events.conv_visitor_group(conversation_id)
                amended.append(_amended(group, conversation_id, entry.public_seq, text))
    events.emit_on_commit(amended)
    return masked


def _amended(group: str, conversation_id: UUID, seq: int, text: str) -> events.Event:
    payload = EntryAmended(conversation_id=conversation_id, seq=seq, text=text).model_dump(mode="json")
    return group, {"type": "chat.amended", "amended": payload}
