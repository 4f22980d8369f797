"""Return phrases: a returning visitor recognised without being identified.

At the end of a chat the advisor may offer the visitor a return phrase: words drawn at random from
the list shipped beside this module (`return_phrase_words.txt`, 2,048 words: four of them carry 44
bits). It is shown to the advisor once, to read to the visitor; it is never sent to the visitor's
device, never written to a log or the audit trail, and never stored: only its slow keyed hash is
(scrypt, salted with a key derived from settings.RISK["RETURN_PHRASE_KEY"], so the same phrase
always gives the same hash and is found by it, and a stolen database alone cannot be searched).

In a later chat, from any device, the visitor may give the phrase; with their consent (the advisor
ticks it, and it is recorded) the advisor links the new chat to the case: its history shows, and
the referral criteria (repeat MARAC among them) count the incidents recorded across every chat of
the case. An advisor who did not hold the case is given it (shared), since the visitor has just
proved it is theirs. Wrong phrases are slowed down, then refused (risk.return_phrase_guard).
Issuing a new phrase revokes the case's earlier ones; a phrase can be revoked on its own; a revoked
phrase is as unknown as a wrong one. Every issue, revocation, link and refusal is in the audit
trail, naming the phrase by its id only.
"""

import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents import audit as audit_trail
from chat.services import redaction
from risk import return_phrase_guard as guard
from risk.models import CaseConversation, CaseRecord
from risk.return_phrase_models import ReturnPhrase, ReturnPhraseUse
from risk.selectors import visible_cases
from risk.services import NotFound, RiskError, _conversation_for, audit, case_for_user

WRONG = "No case has that return phrase. Check the words with the visitor."
WORDS_FILE = Path(__file__).with_name("return_phrase_words.txt")
# What the advisor may type: the words, in any case, separated by spaces or punctuation.
PHRASE_MAX = 200
SCRYPT_R = 8
SCRYPT_P = 1
DIGEST_BYTES = 32


@functools.cache
def words() -> tuple[str, ...]:
    listed = tuple(line.strip() for line in WORDS_FILE.read_text(encoding="utf-8").splitlines() if line.strip())
    if len(set(listed)) != len(listed) or not all(re.fullmatch(r"[a-z]{3,9}", word) for word in listed):
        raise ValueError(f"{WORDS_FILE.name}: each word once, 3 to 9 lower-case letters")
    return listed


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(words())


def word_count() -> int:
    return int(settings.RISK["RETURN_PHRASE_WORDS"])


def phrase_new() -> str:
    return " ".join(secrets.choice(words()) for _ in range(word_count()))


def phrase_normalised(text: str) -> str:
    """The phrase as it is hashed: lower case, the words separated by one space. Refused (and not
    counted as a wrong try: the list is public) when it is not `word_count()` words of the list."""
    if len(text) > PHRASE_MAX:
        raise RiskError("invalid", f"phrase: at most {PHRASE_MAX} characters.", "phrase")
    given = [w for w in re.split(r"[^a-z]+", unicodedata.normalize("NFKC", text).casefold()) if w]
    count = word_count()
    if len(given) != count:
        raise RiskError("invalid", f"phrase: a return phrase is {count} words; {len(given)} given.", "phrase")
    unknown = [w for w in given if w not in _known()]
    if unknown:
        listed = ", ".join(f"“{w[:20]}”" for w in unknown)
        raise RiskError("invalid", f"phrase: {listed} is not one of the return phrase words.", "phrase")
    return " ".join(given)


def phrase_digest(normalised: str) -> str:
    key = str(settings.RISK["RETURN_PHRASE_KEY"]).encode()
    salt = hmac.new(key, b"return-phrase:v1", hashlib.sha256).digest()
    n = int(settings.RISK["RETURN_PHRASE_SCRYPT_N"])
    digest = hashlib.scrypt(
        normalised.encode(),
        salt=salt,
        n=n,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=2 * 128 * SCRYPT_R * n + 1024 * 1024,
        dklen=DIGEST_BYTES,
    )
    return digest.hex()


class PhraseThrottled(RiskError):
    """Too many wrong phrases: try again in `retry_after` seconds."""

    def __init__(self, refusal: guard.Refusal) -> None:
        message = (
            f"Too many wrong return phrases: wait {refusal.retry_after} seconds before trying again."
            if refusal.code == "slow_down"
            else f"Too many wrong return phrases: linking by phrase is paused for {refusal.retry_after} seconds."
        )
        super().__init__(refusal.code, message, "phrase")
        self.retry_after = refusal.retry_after


@dataclass(frozen=True)
class Issued:
    """A phrase just issued, with its words: the only time they exist outside the visitor's memory."""

    phrase: ReturnPhrase
    words: str


def _revoke(*, user: Any, phrase: ReturnPhrase, now: Any) -> None:
    phrase.revoked_at = now
    phrase.revoked_by_id = user.pk
    phrase.save(update_fields=["revoked_at", "revoked_by"])
    audit(user=user, action="return_phrase.revoke", case=phrase.case, return_phrase=phrase.pk)


def return_phrase_issue(*, user: Any, case_id: UUID | str, conversation_id: UUID | str | None = None) -> Issued:
    """A new phrase for the case (its earlier ones revoked), issued in one of its chats if named."""
    case = case_for_user(user=user, case_id=case_id, action="change")
    if (
        conversation_id is not None
        and not CaseConversation.objects.filter(case=case, conversation_id=conversation_id).exists()
    ):
        raise RiskError("invalid", "conversation_id: that chat is not part of this case.", "conversation_id")
    # The slow hash is taken before any row is locked. Another live phrase with the same words is
    # one chance in 2**44: then the words are drawn again (the constraint holds against a race).
    text = phrase_new()
    digest = phrase_digest(text)
    while ReturnPhrase.objects.filter(digest=digest, revoked_at__isnull=True).exists():
        text = phrase_new()
        digest = phrase_digest(text)
    with transaction.atomic():
        CaseRecord.objects.select_for_update().filter(pk=case.pk).first()
        now = timezone.now()
        for earlier in ReturnPhrase.objects.select_for_update().filter(case=case, revoked_at__isnull=True):
            _revoke(user=user, phrase=earlier, now=now)
        phrase = ReturnPhrase.objects.create(
            case=case, digest=digest, issued_by_id=user.pk, conversation_id=conversation_id
        )
        audit(
            user=user,
            action="return_phrase.issue",
            case=case,
            return_phrase=phrase.pk,
            conversation=str(conversation_id) if conversation_id else None,
        )
    return Issued(phrase=phrase, words=text)


def _phrase_id(value: Any) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) <= 18 else None


def return_phrase_revoke(*, user: Any, phrase_id: int | str) -> ReturnPhrase:
    """Revoke a phrase of a case this person may change; it then links nothing."""
    valid = _phrase_id(phrase_id)
    phrase = ReturnPhrase.objects.filter(pk=valid).first() if valid is not None else None
    if phrase is None:
        audit_trail.record_refusal(actor_id=user.pk, resource="return_phrase", attempt="revoke", requested=phrase_id)
        raise NotFound()
    case_for_user(user=user, case_id=phrase.case_id, action="change")
    with transaction.atomic():
        phrase = ReturnPhrase.objects.select_for_update().select_related("case").get(pk=phrase.pk)
        if phrase.revoked_at is not None:
            raise RiskError("invalid_state", "This return phrase was already revoked.")
        _revoke(user=user, phrase=phrase, now=timezone.now())
    return phrase


def case_attach_by_phrase(*, user: Any, conversation_id: UUID | str, phrase: str, consent: bool) -> CaseRecord:
    """The visitor gave their return phrase and agreed to the link: attach this chat to the case.

    Refused, saving nothing, without consent, for a chat already in a case, for a phrase that is
    not words of the list (not counted as a wrong try), while wrong tries are being throttled,
    and for a wrong or revoked phrase (counted, and audited without the words)."""
    if consent is not True:
        raise RiskError("consent_required", "consent: link only with the visitor's consent, and tick it.", "consent")
    conversation = _conversation_for(user, conversation_id)
    normalised = phrase_normalised(phrase)
    if CaseConversation.objects.filter(conversation=conversation).exists():
        raise RiskError("already_linked", "This chat already belongs to a case.")
    admitted = guard.try_admit(user=user)
    if isinstance(admitted, guard.Refusal):
        audit_trail.record_refusal(actor_id=user.pk, resource="return_phrase", attempt="attach", reason="throttled")
        raise PhraseThrottled(admitted)
    digest = phrase_digest(normalised)
    live = ReturnPhrase.objects.filter(digest=digest, revoked_at__isnull=True)
    if not live.exists():
        audit_trail.record_refusal(actor_id=user.pk, resource="return_phrase", attempt="attach", reason="wrong")
        raise RiskError("wrong_phrase", WRONG, "phrase")
    with transaction.atomic():
        found = live.select_for_update().select_related("case").first()
        if found is None:  # revoked since: as wrong as any other
            raise RiskError("wrong_phrase", WRONG, "phrase")
        guard.forgive(miss_id=admitted)
        case = found.case
        CaseConversation.objects.create(case=case, conversation=conversation, linked_by_id=user.pk)
        ReturnPhraseUse.objects.create(
            phrase=found, conversation=conversation, consent_at=timezone.now(), linked_by_id=user.pk
        )
        # The visitor typed the words into this chat: masked there, or every transcript and
        # export made later would hold in clear what is only kept as a hash.
        masked = redaction.visitor_words_mask(conversation_id=conversation.pk, words=normalised.split())
        if not visible_cases(user).filter(pk=case.pk).exists():
            case.shared_with.add(user.pk)
            audit(user=user, action="case.shared", case=case, with_user_id=user.pk, return_phrase=found.pk)
        audit(
            user=user,
            action="case.attach",
            case=case,
            conversation=str(conversation.pk),
            return_phrase=found.pk,
            consent=True,
            masked_entries=masked,
        )
    return case


# --- Reads ------------------------------------------------------------------------------------


def phrase_summary(phrase: ReturnPhrase | None) -> dict[str, Any] | None:
    """A phrase as the console shows it: never its words (they are not kept)."""
    if phrase is None:
        return None
    return {
        "id": phrase.pk,
        "active": phrase.active,
        "issued_at": phrase.issued_at.isoformat(),
        "revoked_at": phrase.revoked_at.isoformat() if phrase.revoked_at else None,
        "linked": phrase.uses.count(),
    }


def phrase_case_id(phrase_id: int | str) -> UUID | None:
    """The case of a phrase (for going back to its page after a refused change; the change itself
    went through the gate)."""
    valid = _phrase_id(phrase_id)
    return ReturnPhrase.objects.filter(pk=valid).values_list("case_id", flat=True).first() if valid else None


def case_phrase_state(*, user: Any, case_id: UUID | str) -> dict[str, Any]:
    """What the console's panel shows of a case's return phrase: its live one, if any."""
    case = case_for_user(user=user, case_id=case_id)
    return {"active": phrase_summary(case.return_phrases.filter(revoked_at__isnull=True).first())}
