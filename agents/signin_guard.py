"""Who may try a password now: failed sign-ins are counted per account *and client*, so guessing
from elsewhere never locks the real person out.

- The client is a pseudonym: an HMAC of its address (an IPv6 client's /64) under a random key that
  lives in the cache for one UTC day and is then forgotten. The address itself is never stored,
  and once the day's key is gone not even the server can tell which address a pseudonym was. It
  is written as an address in the private fd00::/8 range because django-axes keeps it in an
  address column.
- From one client, after `SIGNIN_SLOWDOWN_AFTER` failures each further try must wait (doubling
  from `SIGNIN_SLOWDOWN_SECONDS`); at `AXES_FAILURE_LIMIT` that client is locked out of the
  account for the cool-off period.
- Across all clients, once an account has `SIGNIN_ACCOUNT_FAILURE_LIMIT` failures within the
  cool-off, every sign-in to it needs the password and a code from the authenticator app together.
- A locked-out client can always still sign in with the right password and the code together:
  a guesser without the second factor learns nothing, the real person is never shut out.
"""

import hashlib
import hmac
import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, Q, Sum
from django.http import HttpRequest
from django.utils import timezone

_KEY_PREFIX = "signin-client-key:"


def _day_key(day: str) -> bytes:
    """The random key for one UTC day, shared by every process through the cache."""
    name = _KEY_PREFIX + day
    cache.add(name, secrets.token_hex(32), timeout=36 * 60 * 60)
    value = cache.get(name)
    if value is None:  # evicted between add and get: make another (counts start again)
        value = secrets.token_hex(32)
        cache.set(name, value, timeout=36 * 60 * 60)
    return bytes.fromhex(value)


def client_address(request: HttpRequest) -> str:
    """The client's address as the proxy in front reports it (`SIGNIN_CLIENT_ADDRESS_HEADER`,
    which the proxy must set itself), else the connection's. IPv6 clients count by their /64."""
    header = settings.SIGNIN_CLIENT_ADDRESS_HEADER
    raw = (request.headers.get(header, "") if header else "") or request.META.get("REMOTE_ADDR", "")
    try:
        address = ipaddress.ip_address(str(raw).split(",")[0].strip())
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_pseudonym(request: HttpRequest) -> str:
    """django-axes' client address: today's keyed hash of the client, never the address."""
    key = _day_key(timezone.now().strftime("%Y-%m-%d"))
    digest = hmac.new(key, client_address(request).encode(), hashlib.sha256).digest()
    return str(ipaddress.IPv6Address(b"\xfd" + digest[:15]))


@dataclass(frozen=True)
class SignInGate:
    wait_seconds: int = 0
    second_factor_needed: bool = False


def cool_off() -> timedelta:
    return timedelta(hours=float(settings.AXES_COOLOFF_TIME))


def signin_gate(*, username: str, client: str) -> SignInGate:
    """What a sign-in to `username` from `client` must do before its password is even checked."""
    since = timezone.now() - cool_off()
    totals = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        account=Sum("failures_since_start"),
        here=Sum("failures_since_start", filter=Q(ip_address=client)),
        last_here=Max("attempt_time", filter=Q(ip_address=client)),
    )
    account, here = totals["account"] or 0, totals["here"] or 0
    if here >= settings.AXES_FAILURE_LIMIT or account >= settings.SIGNIN_ACCOUNT_FAILURE_LIMIT:
        return SignInGate(second_factor_needed=True)
    if here >= settings.SIGNIN_SLOWDOWN_AFTER and totals["last_here"] is not None:
        delay = settings.SIGNIN_SLOWDOWN_SECONDS * 2 ** (here - settings.SIGNIN_SLOWDOWN_AFTER)
        waited = (timezone.now() - totals["last_here"]).total_seconds()
        if waited < delay:
            return SignInGate(wait_seconds=max(1, math.ceil(delay - waited)))
    return SignInGate()
