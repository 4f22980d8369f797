"""The same person harming several victims: matching the perpetrators that referral forms name.

Each perpetrator entry with a date of birth gives one key for its name and one for each alias:
the HMAC-SHA256, under a server-side key (settings.RISK["PERPETRATOR_KEY"]), of the normalised
name (accents stripped, case-folded, punctuation and spacing removed, words in order) with the
date. Only the keys are stored (risk.PerpetratorKey), rebuilt whenever a referral's form is
saved; two referrals of different cases sharing a key are a "possible link".

Who sees a link: supervisors, in the referral queue ("possible link") and on the referral page,
and through the search, which only supervisors may use. An advisor sees a link on a referral
page only when they hold both cases. Every search and every lookup of links is audited, with
the ids found and never the name searched for.
"""

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac

from agents import audit as audit_trail
from risk.models import Referral
from risk.outcome_models import PerpetratorKey
from risk.selectors import is_supervisor, visible_cases
from risk.services import NotFound, RiskError, audit

NAME_MAX = 150
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y", "%d %B %Y", "%d %b %Y")
ALIAS_SEPARATORS = re.compile(r"[,;/\n]+|\baka\b|\ba\.k\.a\.", re.IGNORECASE)
APOSTROPHES = re.compile(r"['\u2019\u02bc`]")
NOT_WORD = re.compile(r"[\W_]+")
LINKS_SHOWN = 50


def normalise_name(text: str) -> str:
    """The name as matching sees it: "José  O'Brien-Smith" and "obrien smith jose" are one."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = APOSTROPHES.sub("", stripped.casefold())
    return " ".join(sorted(NOT_WORD.sub(" ", folded).split()))


def normalise_date(text: str) -> date | None:
    """A date of birth as staff type it (ISO, or day first as in the UK); None when it is not
    one or is in the future."""
    cleaned = " ".join(text.strip().split())
    for pattern in DATE_FORMATS:
        try:
            parsed = datetime.strptime(cleaned, pattern).date()  # noqa: DTZ007  (a date, no time of day)
        except ValueError:
            continue
        return parsed if parsed <= date.today() else None  # noqa: DTZ011  (a birth date, not a moment)
    return None


def _secret() -> bytes:
    configured = str(settings.RISK.get("PERPETRATOR_KEY") or "")
    if configured:
        return configured.encode()
    return salted_hmac("risk.perpetrators", "perpetrator matching key", algorithm="sha256").digest()


def match_key(name: str, born: date) -> str:
    return hmac.new(_secret(), f"v1|{name}|{born.isoformat()}".encode(), hashlib.sha256).hexdigest()


def _aliases(value: Any) -> list[str]:
    return [part for part in ALIAS_SEPARATORS.split(value)] if isinstance(value, str) else []


def form_keys(form: dict[str, Any]) -> dict[str, bool]:
    """The keys of the perpetrators a form names, each with whether it came from an alias only."""
    keys: dict[str, bool] = {}
    entries = form.get("perpetrators")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("date_of_birth"), str):
            continue
        born = normalise_date(entry["date_of_birth"])
        if born is None:
            continue
        names = [(entry.get("name"), False), *((alias, True) for alias in _aliases(entry.get("aliases")))]
        for name, alias in names:
            normalised = normalise_name(name) if isinstance(name, str) else ""
            if normalised:
                key = match_key(normalised, born)
                keys[key] = keys.get(key, True) and alias
    return keys


def perpetrator_keys_refresh(*, referral: Referral) -> int:
    """Rebuild the referral's keys from its form (called whenever the form is saved)."""
    keys = form_keys(referral.form)
    with transaction.atomic():
        PerpetratorKey.objects.filter(referral=referral).delete()
        PerpetratorKey.objects.bulk_create(
            PerpetratorKey(referral=referral, case_id=referral.case_id, key=key, alias=alias)
            for key, alias in keys.items()
        )
    return len(keys)


def possible_link_ids(referral_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these referrals share a perpetrator key with a referral of another case. For
    the supervisors' queue only (its caller has checked the role)."""
    own = list(
        PerpetratorKey.objects.filter(referral_id__in=list(referral_ids)).values_list("referral_id", "case_id", "key")
    )
    if not own:
        return set()
    cases_by_key: dict[str, set[UUID]] = {}
    for key, case_id in PerpetratorKey.objects.filter(key__in={k for _, _, k in own}).values_list("key", "case_id"):
        cases_by_key.setdefault(key, set()).add(case_id)
    return {referral_id for referral_id, case_id, key in own if cases_by_key.get(key, set()) - {case_id}}


def perpetrator_links(*, user: Any, referral: Referral) -> list[Referral]:
    """Referrals of other cases naming the same perpetrator as this one (which the caller reached
    through the gate): all of them for a supervisor, those of cases the user holds for anyone
    else. Audited when there is anything to look up."""
    keys = list(PerpetratorKey.objects.filter(referral=referral).values_list("key", flat=True))
    if not keys:
        return []
    others = (
        Referral.objects.filter(perpetrator_keys__key__in=keys)
        .exclude(case_id=referral.case_id)
        .select_related("case")
        .distinct()
        .order_by("-created_at")
    )
    if not is_supervisor(user):
        others = others.filter(case__in=visible_cases(user))
    found = list(others[:LINKS_SHOWN])
    audit(
        user=user,
        action="perpetrator.links",
        case=referral.case,
        referral=referral,
        matches=len(found),
        linked_referrals=[str(r.pk) for r in found],
    )
    return found


def perpetrator_search(*, user: Any, name: str, date_of_birth: str) -> list[Referral]:
    """The referrals naming a perpetrator with this name (or alias) and date of birth. For
    supervisors only; audited with what was found, never with the name."""
    if not is_supervisor(user):
        audit_trail.record_refusal(actor_id=user.pk, resource="perpetrator", attempt="search", reason="forbidden")
        raise NotFound()
    if not isinstance(name, str) or not normalise_name(name):
        raise RiskError("invalid", "Give the name to search for.", "name")
    if len(name) > NAME_MAX:
        raise RiskError("invalid", f"Keep the name under {NAME_MAX} characters.", "name")
    born = normalise_date(date_of_birth) if isinstance(date_of_birth, str) else None
    if born is None:
        raise RiskError("invalid", "Give the date of birth as YYYY-MM-DD or DD/MM/YYYY.", "date_of_birth")
    key = match_key(normalise_name(name), born)
    found = list(
        Referral.objects.filter(perpetrator_keys__key=key)
        .select_related("case")
        .distinct()
        .order_by("-created_at")[:LINKS_SHOWN]
    )
    audit(user=user, action="perpetrator.search", matches=len(found), linked_referrals=[str(r.pk) for r in found])
    return found


def perpetrator_keys_rebuild() -> int:
    """Every referral's keys again (after the key changed); how many keys there are now."""
    return sum(perpetrator_keys_refresh(referral=r) for r in Referral.objects.only("pk", "case_id", "form").iterator())
