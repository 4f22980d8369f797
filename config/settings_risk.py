"""Settings of the risk checklist, MARAC and the other referrals (their forms, delivery by email,
outcomes, return phrases, perpetrator matching), case retention, and the signing keys; part of
config.settings."""

import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.env import BASE_DIR, env_bool

PRODUCTION = env_bool("DJANGO_PRODUCTION", default=False)

# --- Risk checklist and MARAC referrals (shared/domain/risk-and-marac.md) ----------------------
RISK: dict[str, Any] = {
    "MEDIUM_FROM": int(os.environ.get("RISK_MEDIUM_FROM", "10")),
    "HIGH_FROM": int(os.environ.get("RISK_HIGH_FROM", "14")),
    "ESCALATION_INCIDENTS": int(os.environ.get("RISK_ESCALATION_INCIDENTS", "3")),
    "ESCALATION_WINDOW_DAYS": int(os.environ.get("RISK_ESCALATION_WINDOW_DAYS", "365")),
    "REPEAT_WINDOW_DAYS": int(os.environ.get("RISK_REPEAT_WINDOW_DAYS", "365")),
    "REVIEW_DUE_WORKING_DAYS": int(os.environ.get("RISK_REVIEW_DUE_WORKING_DAYS", "2")),
    # Multi-agency pathway (forms): working days each kind of referral has for its review once
    # submitted; a kind not named (MARAC) has REVIEW_DUE_WORKING_DAYS.
    "REFERRAL_DUE_WORKING_DAYS": {"idva": 1, "mash": 1, "police": 1},
    # A case is due for review (keep, hold or erase) this long after its last activity.
    "CASE_RETENTION_DAYS": int(os.environ.get("RISK_CASE_RETENTION_DAYS", str(6 * 365))),
    # Opt-in: the scheduled review erases cases this many days past their review date, unless
    # on legal hold or kept at review. Off: it only lists them for supervisors.
    "CASE_AUTO_ERASE": env_bool("RISK_CASE_AUTO_ERASE", default=False),
    "CASE_ERASE_GRACE_DAYS": int(os.environ.get("RISK_CASE_ERASE_GRACE_DAYS", "30")),
    # Return phrases (risk/return_phrases.py; the limits on wrong tries: risk/return_phrase_guard.py):
    # the hash's key (production needs its own; a new key voids every phrase given) and scrypt cost.
    "RETURN_PHRASE_KEY": os.environ.get("RISK_RETURN_PHRASE_KEY", ""),
    "RETURN_PHRASE_WORDS": int(os.environ.get("RISK_RETURN_PHRASE_WORDS", "4")),
    "RETURN_PHRASE_SCRYPT_N": int(os.environ.get("RISK_RETURN_PHRASE_SCRYPT_N", str(2**15))),
    "RETURN_PHRASE_WINDOW_MINUTES": float(os.environ.get("RISK_RETURN_PHRASE_WINDOW_MINUTES", "15")),
    "RETURN_PHRASE_SLOW_AFTER": int(os.environ.get("RISK_RETURN_PHRASE_SLOW_AFTER", "3")),
    "RETURN_PHRASE_SLOW_SECONDS": float(os.environ.get("RISK_RETURN_PHRASE_SLOW_SECONDS", "5")),
    "RETURN_PHRASE_LOCK_AFTER": int(os.environ.get("RISK_RETURN_PHRASE_LOCK_AFTER", "10")),
    "RETURN_PHRASE_GLOBAL_LOCK_AFTER": int(os.environ.get("RISK_RETURN_PHRASE_GLOBAL_LOCK_AFTER", "50")),
    # Perpetrator matching's hash key (risk.perpetrators; empty: derived from DJANGO_SECRET_KEY).
    "PERPETRATOR_KEY": os.environ.get("RISK_PERPETRATOR_KEY", ""),
    # Secure delivery (risk/delivery.py): the links' address, the sender, how long a link lives,
    # wrong codes allowed, hours until an unopened one is raised, retries (first wait in s, then
    # doubling) when the mail server is unreachable, minutes before a claimed send counts as lost.
    "DELIVERY_BASE_URL": os.environ.get("RISK_DELIVERY_BASE_URL", "" if PRODUCTION else "http://127.0.0.1:8000"),
    "DELIVERY_FROM": os.environ.get("RISK_DELIVERY_FROM", "referrals@helpline.invalid"),
    "DELIVERY_LINK_HOURS": float(os.environ.get("RISK_DELIVERY_LINK_HOURS", "72")),
    "DELIVERY_CODE_ATTEMPTS": int(os.environ.get("RISK_DELIVERY_CODE_ATTEMPTS", "5")),
    "DELIVERY_OPEN_DUE_HOURS": float(os.environ.get("RISK_DELIVERY_OPEN_DUE_HOURS", "48")),
    "DELIVERY_RETRIES": int(os.environ.get("RISK_DELIVERY_RETRIES", "6")),
    "DELIVERY_RETRY_SECONDS": float(os.environ.get("RISK_DELIVERY_RETRY_SECONDS", "30")),
    "DELIVERY_CLAIM_STALE_MINUTES": float(os.environ.get("RISK_DELIVERY_CLAIM_STALE_MINUTES", "15")),
}
# Email (referral delivery): on the console in the embedded profile; EMAIL_* for a mail server.
EMAIL_BACKEND = "django.core.mail.backends." + os.environ.get("EMAIL_BACKEND", "smtp" if PRODUCTION else "console")
EMAIL_BACKEND += ".EmailBackend"
EMAIL_HOST, EMAIL_PORT = os.environ.get("EMAIL_HOST", "localhost"), int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_USER", ""), os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS, EMAIL_TIMEOUT = env_bool("EMAIL_USE_TLS"), float(os.environ.get("EMAIL_TIMEOUT", "20"))

# --- Signing keys (transcripts, PDFs, audit checkpoints; risk/signing.py) ----------------------
# One private key file per key, in a directory only the service's system user can read, never
# under anything the web server serves. Production needs it set and an operator-made key
# (`manage.py signing_key generate`); the embedded profile keeps a local, gitignored directory
# and makes its first key on first use.
SIGNING_KEY_DIR = os.environ.get("SIGNING_KEY_DIR", "")
if not SIGNING_KEY_DIR:
    if PRODUCTION:
        raise ImproperlyConfigured("SIGNING_KEY_DIR must be set in production (see docs/deployment.md)")
    SIGNING_KEY_DIR = str(BASE_DIR / "var" / "signing-keys")
SIGNING_KEY_AUTOCREATE = env_bool("SIGNING_KEY_AUTOCREATE", default=not PRODUCTION)
SIGNING_ORGANISATION = os.environ.get("SIGNING_ORGANISATION", "Helpline")
if RISK["CASE_RETENTION_DAYS"] < 1 or RISK["CASE_ERASE_GRACE_DAYS"] < 0:
    raise ImproperlyConfigured("RISK_CASE_RETENTION_DAYS must be 1 or more, RISK_CASE_ERASE_GRACE_DAYS 0 or more.")
if not RISK["RETURN_PHRASE_KEY"] and PRODUCTION:
    raise ImproperlyConfigured("RISK_RETURN_PHRASE_KEY must be set in production (see docs/deployment.md)")
RISK["RETURN_PHRASE_KEY"] = RISK["RETURN_PHRASE_KEY"] or "insecure-development-return-phrase-key"
