"""Settings for both profiles, chosen by the environment.

Embedded (default): SQLite, the in-memory channel layer, Celery tasks run eagerly - nothing to
install but Python packages. Scaled: set DATABASE_URL (PostgreSQL, pooled) and REDIS_URL (one
Redis for the channel layer, the Celery broker and the cache).
"""

import os
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import BASE_DIR, env_bool, env_list

DEBUG = env_bool("DJANGO_DEBUG", default=False)
PRODUCTION = env_bool("DJANGO_PRODUCTION", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
    SECRET_KEY = "insecure-development-key-only-for-the-embedded-profile"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "axes",
    "chat",
    "agents",
    "risk",
    "messenger",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.input_guard.InputGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "agents.middleware.StaffIdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into a clear refusal.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Profiles -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# The owner role `manage.py migrate` connects as (same database; docs/deployment.md). The server
# and workers use DATABASE_URL's role, which then owns nothing.
MIGRATION_DATABASE_URL = os.environ.get("MIGRATION_DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
SCALED = bool(DATABASE_URL or REDIS_URL)

if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Django's psycopg pool: every database_sync_to_async call borrows a connection
        # instead of opening one (see the architecture note's traps).
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
            "max_size": int(os.environ.get("DB_POOL_MAX", "20")),
            "timeout": 10,
        }
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["ENGINE"] = "config.db.postgresql"  # Django's, plus work after rollbacks (config/db)
    if os.environ.get("TEST_DB_NAME"):
        # Lets several scaled test runs share one PostgreSQL server without meeting.
        _db["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "config.db.sqlite3",  # Django's, plus work after rollbacks (config/db)
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Keep the connection: Channels runs every ORM call on one thread, and reconnecting
            # for each call cost a fifth of the server's time under load (make bench, py-spy).
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # WAL and a busy timeout let the daphne thread and management commands share
                # the file without "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
        }
    }

if REDIS_URL:
    # The pub/sub layer: lower tail latency than the core layer under load, and no shared
    # connection pool to exhaust with thousands of sockets (architecture note, known traps).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("CHANNEL_PREFIX", "safechat")},
        }
    }
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            # One connection pool for the process, whatever context uses the cache (config/cache.py).
            "BACKEND": "config.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "safechat",
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.engine.layers.EmbeddedChannelLayer",
            "CONFIG": {"capacity": 1000, "expiry": 120},
        }
    }
    CACHES = {
        "default": {
            # In the process; culled without losing a block (config/local_cache.py).
            "BACKEND": "config.local_cache.ExpiringLocMemCache",
            "OPTIONS": {
                # About 400 bytes each, 2 MB at most: the per-visitor entries of the last few
                # thousand visitors (a day of a national helpline is about 1,400).
                "MAX_ENTRIES": 5000,
                "KEEP_PREFIXES": [
                    "chat:connection-key:",
                    "chat:blocked-connection:",
                    "chat:block-key:",
                    "signin-client-key:",
                ],
            },
        }
    }
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True

CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "safechat")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# acks_late: a task whose worker died was never acknowledged, and the Redis broker hands it to
# another worker once it has been out this many seconds (kombu's default, an hour, when unset).
# Keep it longer than the longest task, or a slow one runs twice (they are all idempotent).
# `make chaos` sets a few seconds; kombu then has to look for such tasks as often, not every
# 10 x 10 seconds.
_visibility_timeout = os.environ.get("CELERY_VISIBILITY_TIMEOUT")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if _visibility_timeout:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": float(_visibility_timeout),
        "unacked_restore_interval": max(1, min(10, int(float(_visibility_timeout)))),
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE = {
    "chat-grace-sweep": {"task": "chat.tasks.grace_sweep", "schedule": 10.0},
    "statistics-roll-up": {"task": "chat.tasks.statistics_roll_up", "schedule": 15 * 60.0},
    "chat-idle-close": {"task": "chat.tasks.idle_close", "schedule": 5 * 60.0},
    "referral-due-reminders": {"task": "risk.tasks.referral_due_reminders", "schedule": 15 * 60.0},
    "referral-delivery-reminders": {"task": "risk.tasks.referral_delivery_reminders", "schedule": 15 * 60.0},
    "retention-purge": {"task": "chat.tasks.retention_purge", "schedule": 60 * 60.0},
    "case-retention-review": {"task": "risk.tasks.case_retention_review", "schedule": 6 * 60 * 60.0},
    "sessions-clear": {"task": "agents.tasks.sessions_clear", "schedule": 60 * 60.0},
    # Signs the audit chain's head (risk/checkpoints.py); exports sign one as well.
    "audit-checkpoint": {
        "task": "risk.tasks.audit_checkpoint",
        "schedule": float(os.environ.get("AUDIT_CHECKPOINT_MINUTES", "60")) * 60.0,
    },
    # Walks the whole chain and logs any tampering as errors (also `manage.py verify_audit`).
    "audit-verify": {"task": "risk.tasks.audit_verify", "schedule": 24 * 60 * 60.0},
    # Telegram: deliveries left pending (Telegram was down), updates left unprocessed, waiting notes.
    "telegram-sweep": {"task": "messenger.tasks.telegram_sweep", "schedule": 60.0},
}

# --- Auth and sessions ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"
# Staff sessions end after this long without activity (pages or console socket).
STAFF_IDLE_MINUTES = float(os.environ.get("STAFF_IDLE_MINUTES", "30"))

# Two-factor: every staff sign-in needs a TOTP code (django-otp).
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Helpline chat")
# Passkeys (WebAuthn, django-otp-webauthn) as the other second factor: never a sign-in alone.
# Their domain is PASSKEY_RP_ID, else the host of the page (passkeys need a domain name: on the
# embedded profile use http://localhost:8000, not 127.0.0.1); origins as the console's, below.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_ID_CALLABLE = "agents.passkeys.relying_party_id"
OTP_WEBAUTHN_RP_NAME = OTP_TOTP_ISSUER
PASSKEY_RP_ID = os.environ.get("PASSKEY_RP_ID", "")

# Failed sign-ins count per account and client (agents/signin_guard.py): the client is a keyed
# hash under a key that changes every day, never its address. From one client: a pause after
# SIGNIN_SLOWDOWN_AFTER failures, locked at AXES_FAILURE_LIMIT; for the account across all
# clients: password and authenticator code together after SIGNIN_ACCOUNT_FAILURE_LIMIT. A locked
# person can always sign in with the password and the code together.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "agents.signin_guard.client_pseudonym"
AXES_LOCKOUT_CALLABLE = "agents.signin.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password", "token"]
AXES_DISABLE_ACCESS_LOG = True
AXES_RESET_ON_SUCCESS = True
SIGNIN_SLOWDOWN_AFTER = int(os.environ.get("SIGNIN_SLOWDOWN_AFTER", "3"))
SIGNIN_SLOWDOWN_SECONDS = float(os.environ.get("SIGNIN_SLOWDOWN_SECONDS", "5"))
SIGNIN_ACCOUNT_FAILURE_LIMIT = int(os.environ.get("SIGNIN_ACCOUNT_FAILURE_LIMIT", "20"))
# The request header the proxy in front sets to the client's address (deploy/nginx.conf sets
# X-Real-IP); empty: the connection's own address.
SIGNIN_CLIENT_ADDRESS_HEADER = os.environ.get("SIGNIN_CLIENT_ADDRESS_HEADER", "")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60
# Staff session cookies end with the browser (and after STAFF_IDLE_MINUTES without activity, and
# 12 hours at most); visitors' chats do not use Django sessions.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

LANGUAGE_CODE = "en"
# The visitor widget ships in these languages (locale/); Arabic is laid out right to left.
LANGUAGES = [("en", "English"), ("cy", "Cymraeg"), ("pl", "Polski"), ("ar", "العربية")]
TIME_ZONE = "Europe/London"
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
# `collectstatic` target in production; the embedded profile serves from the apps directly.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
# daphne serves static files through WhiteNoise; in the embedded profile straight from the apps.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG


def _visitor_files_no_store(headers: Any, path: str, url: str) -> None:
    """The chat page's and the widget's files, like the pages, are never kept in the browser's
    cache, where someone checking the device could find them."""
    if url.startswith((f"/{STATIC_URL}visitor/", f"/{STATIC_URL}widget/")):
        headers["Cache-Control"] = "no-store"


WHITENOISE_ADD_HEADERS_FUNCTION = _visitor_files_no_store
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Browser security ------------------------------------------------------------------------
# No inline script or style anywhere; pages that may be framed (the widget) widen
# frame-ancestors for themselves with csp.decorators.csp_update.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Other sites never learn where a person came from; same-origin keeps the Origin header that
# CSRF checks need on our own forms ("no-referrer" would turn it into "null").
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging: never message text, never a client address --------------------------------------
# LOG_FORMAT=json gives one JSON object per line for a log pipeline.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# /healthz/ready checks the database, Redis and Celery at most this often per process.
HEALTH_READY_CACHE_SECONDS = float(os.environ.get("HEALTH_READY_CACHE_SECONDS", "5"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "filters": {"no_client_address": {"()": "config.logfilters.NoClientAddress"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": os.environ.get("LOG_FORMAT", "plain"),
            "filters": ["no_client_address"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # daphne's access log names the client address; it stays off.
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # httpx logs each request's URL, which holds the Telegram bot's token.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "telegram": {"level": "WARNING"},
    },
}

# --- The chat product -----------------------------------------------------------------------

# Reference data (hours, triage flow, queues, the pause) cached per process for seconds
# (chat.reference); "off" for a server whose data is edited from outside while it runs.
REFERENCE_CACHE = os.environ.get("REFERENCE_CACHE", "on") != "off"
CHAT: dict[str, Any] = {
    # Origins allowed to open the visitor socket (the helplines' own sites and ours).
    "WIDGET_ALLOWED_ORIGINS": env_list("WIDGET_ALLOWED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000"),
    # Origins allowed to open the staff socket.
    "CONSOLE_ALLOWED_ORIGINS": env_list("CONSOLE_ALLOWED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000"),
    "VISITOR_GRACE_SECONDS": float(os.environ.get("VISITOR_GRACE_SECONDS", "120")),
    "ADVISOR_GRACE_SECONDS": float(os.environ.get("ADVISOR_GRACE_SECONDS", "60")),
    # A staff socket that has said nothing (not even a ping) for this long counts as gone.
    "STAFF_HEARTBEAT_TIMEOUT_SECONDS": float(os.environ.get("STAFF_HEARTBEAT_TIMEOUT", "90")),
    "VISITOR_SESSION_HOURS": float(os.environ.get("VISITOR_SESSION_HOURS", "12")),
    # Message text of chats not attached to a case is deleted this long after they close.
    "RETENTION_DAYS": float(os.environ.get("CHAT_RETENTION_DAYS", "7")),
    # Ended visitor blocks (their session hash and note) are kept this long for supervisors' review.
    "BLOCK_RETENTION_DAYS": float(os.environ.get("CHAT_BLOCK_RETENTION_DAYS", "30")),
    # A chat in triage or with an advisor where nobody has written for this long is closed.
    "IDLE_CLOSE_MINUTES": float(os.environ.get("CHAT_IDLE_CLOSE_MINUTES", "60")),
    "MAX_TEXT_CHARS": 4000,
    "MAX_FRAME_BYTES": 64 * 1024,
    # Per socket: a token bucket of RATE_BURST frames refilled at RATE_PER_SECOND; a socket
    # that keeps sending past it (FLOOD_STRIKES refused frames) is disconnected.
    "RATE_PER_SECOND": float(os.environ.get("CHAT_RATE_PER_SECOND", "5")),
    "RATE_BURST": float(os.environ.get("CHAT_RATE_BURST", "20")),
    "FLOOD_STRIKES": int(os.environ.get("CHAT_FLOOD_STRIKES", "20")),
    "DEFAULT_CAPACITY": 3,
    # Used for the estimated wait until real handle times exist.
    "DEFAULT_HANDLE_SECONDS": 15 * 60,
    "REPLAY_LIMIT": 500,
    # Where quick exit sends the visitor's browser (a neutral, busy site).
    "QUICK_EXIT_URL": os.environ.get("CHAT_QUICK_EXIT_URL", "https://www.bbc.co.uk/weather"),
    "EMERGENCY_NUMBER": os.environ.get("CHAT_EMERGENCY_NUMBER", "999"),
    # A neutral name for the widget; a host page may set its own.
    "WIDGET_TITLE": os.environ.get("WIDGET_TITLE", "Chat"),
    # Opt-in: keep the resume token in sessionStorage (gone when the tab closes) so a reload of
    # the page resumes the chat. Off: the token lives in the page's memory only.
    "WIDGET_SESSION_STORAGE": env_bool("WIDGET_SESSION_STORAGE", default=False),
    # Languages the first messages are checked against (ISO 639-1), offline: the widget's own and
    # those most spoken in the UK after English. Fewer candidates, fewer wrong guesses.
    "DETECT_LANGUAGES": env_list(
        "CHAT_DETECT_LANGUAGES", "en,cy,pl,ar,ur,pa,bn,gu,ro,lt,pt,es,fr,it,de,so,tr,fa,zh,ru,hi"
    ),
    # A chat in a language some advisor on shift speaks waits this long for one of them before
    # any advisor may take it with queue.take_next.
    "LANGUAGE_WAIT_SECONDS": float(os.environ.get("CHAT_LANGUAGE_WAIT_SECONDS", "300")),
}
# The published figures (chat.figures) show a count below this as "fewer than N".
FIGURES_SMALL_COUNT = int(os.environ.get("FIGURES_SMALL_COUNT", "5"))
# Browsers offer passkeys only to https pages and to http://localhost.
OTP_WEBAUTHN_ALLOWED_ORIGINS = [
    origin for origin in CHAT["CONSOLE_ALLOWED_ORIGINS"] if origin.startswith(("https://", "http://localhost"))
]
if not OTP_WEBAUTHN_ALLOWED_ORIGINS:
    # A console served only on plain http addresses (a benchmark, a test server on 127.0.0.1) cannot
    # use passkeys at all; sign-in keeps the authenticator app, and the server still starts.
    SILENCED_SYSTEM_CHECKS = ["otp_webauthn.E030"]

# Machine translation: a LibreTranslate-compatible server (self-hosted, so text stays with the
# helpline). Unset: no translation, and the console says so.
TRANSLATION: dict[str, Any] = {
    "URL": os.environ.get("TRANSLATION_URL", ""),
    "API_KEY": os.environ.get("TRANSLATION_API_KEY", ""),
    "TIMEOUT_SECONDS": float(os.environ.get("TRANSLATION_TIMEOUT", "8")),
}

# --- Risk, the pathway, email and signing keys (config/settings_risk.py) --------------------------
from config.settings_risk import (  # noqa: E402, F401  (settings Django reads from this module)
    EMAIL_BACKEND,
    EMAIL_HOST,
    EMAIL_HOST_PASSWORD,
    EMAIL_HOST_USER,
    EMAIL_PORT,
    EMAIL_TIMEOUT,
    EMAIL_USE_TLS,
    RISK,
    SIGNING_KEY_AUTOCREATE,
    SIGNING_KEY_DIR,
    SIGNING_ORGANISATION,
)

# --- Telegram (config/settings_telegram.py, docs/telegram.md) -------------------------------------
from config.settings_telegram import TELEGRAM  # noqa: E402, F401  (a setting Django reads from this module)
