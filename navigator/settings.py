"""Navigator settings: one module, read from the environment, safe by default.

Every variable is documented in README.md ("Configuration"). Secrets may be given
directly or as ``NAME_FILE`` pointing at a file (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is read for convenience on a developer machine; the environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def envsecret(name: str, default: str | None = None) -> str | None:
    """A secret from NAME or from the file named by NAME_FILE."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = envsecret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured(
            "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set when DJANGO_DEBUG is off."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("NAVIGATOR_SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Index expressions with an operator class (the case search's trigram indexes); harmless on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    # Swagger UI and ReDoc, pinned and served from our own static files (no CDN).
    "drf_spectacular_sidecar",
    "simple_history",
    "phonenumber_field",
    "django_countries",
    "django_celery_beat",
    "accounts",
    "audit",
    "cases",
    "documents",
    "eligibility",
    "scheduling",
    "notifications",
    "hospitals",
    "messaging",
    "webhooks",
    "travel",
    "options",
    "followup",
    "portal",
    "privacy",
    "desk",
    "outbox",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
]

MIDDLEWARE = [
    # Probes and metrics for the platform (/livez, /readyz, /metrics): before host checks and logs.
    "navigator.ops.OpsEndpointsMiddleware",
    "navigator.ops.PrometheusBeforeMiddleware",
    # Times every request, logs one JSON line, answers 503 when the database is down.
    "navigator.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the query string: NUL in a parameter is a 400, not a DataError.
    "navigator.input.UnsafeInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "navigator.middleware.StaffTwoFactorMiddleware",
    # Admin times in the member of staff's own zone.
    "navigator.middleware.StaffTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "audit.middleware.AuditContextMiddleware",
    # Deprecation and Sunset headers on answers to a centre's rotated key during its grace period.
    "hospitals.authentication.ApiKeyDeprecationMiddleware",
    # Last, as django-axes asks: answers locked-out sign-in attempts with its lock-out page.
    "axes.middleware.AxesMiddleware",
    "navigator.ops.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "navigator.urls"
WSGI_APPLICATION = "navigator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # navigator is a project package, not an app: its template tags are named here.
            "libraries": {"navigator_admin_list": "navigator.templatetags.navigator_admin_list"},
        },
    },
]

# --- Database ---------------------------------------------------------------
# The embedded default is a SQLite file so the demo needs no services; tests, CI
# and production use PostgreSQL through DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # Persistent connections, checked before reuse so a restarted server is survived.
    # Not in debug: runserver starts a thread per request, and each would keep its connection.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0 if DEBUG else 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # The embedded demo runs a web server, a worker and beat on one SQLite file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # SQLite cannot enforce these constraints; PostgreSQL (tests, production) does.
    SILENCED_SYSTEM_CHECKS = ["models.W038", "models.W047"]
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Sign-in lock-out (django-axes): after AXES_FAILURE_LIMIT failures for one user name from one
# address, that pair is locked out for AXES_COOLOFF_HOURS. The portal adds a per-address rate limit.
AUTHENTICATION_BACKENDS = ["portal.backends.RequestAxesBackend", "accounts.backends.RoleBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "audit.context.ip_from_request"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ----------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
    ("ar", "العربية"),
    ("ru", "Русский"),
    ("es", "Español"),
    ("fr", "Français"),
    ("vi", "Tiếng Việt"),
    ("id", "Bahasa Indonesia"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
# English dates as "10 Dec 2026 12:00 CET": the zone is always named (navigator/formats/en).
FORMAT_MODULE_PATH = ["navigator.formats"]
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Project-wide static files (the API documentation pages' stylesheet).
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("NAVIGATOR_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Documents never have a public URL: MEDIA_URL is deliberately unset and downloads
# go through authorised, audited views.
DOCUMENT_STORAGE = env.str("DOCUMENT_STORAGE", default="local")  # "local" or "s3"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if DOCUMENT_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default=None),
            "region_name": env.str("S3_REGION", default=None),
            "access_key": envsecret("S3_ACCESS_KEY_ID"),
            "secret_key": envsecret("S3_SECRET_ACCESS_KEY"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env.int("S3_SIGNED_URL_SECONDS", default=120),
            "file_overwrite": False,
        },
    }

# --- REST framework ----------------------------------------------------------
# How many reverse proxies that append to X-Forwarded-For stand in front of the app (0: none,
# REMOTE_ADDR is the client). The audit trail, the portal rate limit, the sign-in lock-out and
# DRF's throttling all take the client's address from the same count (audit.context).
NAVIGATOR_TRUSTED_PROXIES = env.int("NAVIGATOR_TRUSTED_PROXIES", default=0)
if NAVIGATOR_TRUSTED_PROXIES < 0:
    raise environ.ImproperlyConfigured("NAVIGATOR_TRUSTED_PROXIES must be 0 or more.")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so a centre's key sent to a route that does not take it is a 401, not a 403.
        "navigator.authentication.BearerChallenge",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["navigator.filters.FilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "navigator.input.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "navigator.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "navigator.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "navigator.api.AutoSchema",
    "EXCEPTION_HANDLER": "navigator.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        # Fixed-window counters (one Redis round trip), open (with a logged warning) while the
        # cache is unreachable.
        "navigator.throttling.AnonRateThrottle",
        "navigator.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttling identifies anonymous clients by address: the same trusted-proxy count.
    "NUM_PROXIES": NAVIGATOR_TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Navigator API",
    "DESCRIPTION": (
        "Case management for cross-border CD19 CAR-T navigation in B-cell ALL.\n\n"
        "Every error is JSON `{code, detail, fields}`. A list answers 400 naming the query parameter "
        "in `fields` for a parameter it does not take and for a malformed value: a boolean other than "
        "`true` or `false`, an integer that is not a whole number, a date or date-time that is not "
        "ISO 8601, a value outside the documented `enum`, a single-valued parameter given twice. "
        "An empty value is the same as leaving the parameter out."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are for signed-in users and centres' keys (the demo shows them to all).
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny" if DEBUG else "rest_framework.permissions.IsAuthenticated"
    ],
    # Every way to authenticate except BearerChallenge, which authenticates nobody.
    "AUTHENTICATION_WHITELIST": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "hospitals.authentication.HospitalApiKeyAuthentication",
        "scheduling.feed_tokens.CalendarFeedTokenAuthentication",
    ],
    "SERVE_AUTHENTICATION": [
        "hospitals.authentication.HospitalApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Choice sets that share a field name across apps get explicit, stable names.
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "cases.models.Case.STATUS_CHOICES",
        "CasePriorityEnum": "cases.models.Case.Priority",
        "TaskPriorityEnum": "scheduling.models.CoordinatorTask.Priority",
        "SlotKindEnum": "hospitals.models.referrals.AppointmentSlot.Kind",
        "WebhookEventTypeEnum": "webhooks.models.EVENT_TYPE_VALUES",
        "CountryEnum": "django_countries.countries",
    },
    # Swagger UI and ReDoc from drf-spectacular-sidecar's pinned copies, through our static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "navigator.api.add_error_responses",
    ],
}

# --- Cache -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Django's Redis cache, with one client per connection pool instead of one per call.
    CACHES = {"default": {"BACKEND": "navigator.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------
# With REDIS_URL the broker is Redis. Without it, kombu's filesystem transport gives
# a real queue in var/broker so the embedded demo runs a worker and beat with no services.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir = BASE_DIR / "var" / "broker"
    for _sub in ("queue", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    # Redis: a task not acknowledged within the visibility timeout is redelivered.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# Acknowledge after the task ran, and requeue when the worker dies mid-task: a killed
# worker loses nothing; the tasks themselves are idempotent so a rerun is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# The database scheduler (periodic tasks edited in the admin), sending only while it holds the
# leader lock: a second beat idles and takes over when the first dies (navigator/beat.py).
CELERY_BEAT_SCHEDULER = "navigator.beat:LeaderScheduler"
BEAT_STANDBY_SECONDS = env.int("BEAT_STANDBY_SECONDS", default=5)
# Queues by kind of work (navigator/routing.py): each has its own workers and time limits.
CELERY_TASK_ROUTES = ("navigator.routing.route",)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sent outbox rows are kept this many days (for tracing a task back to its request), then purged.
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=7)
# /healthz and the admin call the outbox stalled when its oldest unsent task is older than this.
OUTBOX_STALLED_SECONDS = env.int("OUTBOX_STALLED_SECONDS", default=300)

# --- Email and SMS -----------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Navigator <navigator@localhost>")
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.sms.FileSMSBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(BASE_DIR / "var" / "sms"))
# WhatsApp goes through the same kind of backend as SMS (notifications.sms.BaseSMSBackend).
WHATSAPP_BACKEND = env.str("WHATSAPP_BACKEND", default="notifications.sms.FileSMSBackend")
WHATSAPP_FILE_PATH = env.str("WHATSAPP_FILE_PATH", default=str(BASE_DIR / "var" / "whatsapp"))
# The WhatsApp Business Cloud API (notifications.whatsapp.WhatsAppCloudBackend).
WHATSAPP_API_URL = env.str("WHATSAPP_API_URL", default="https://graph.facebook.com")
WHATSAPP_API_VERSION = env.str("WHATSAPP_API_VERSION", default="v21.0")
WHATSAPP_PHONE_NUMBER_ID = env.str("WHATSAPP_PHONE_NUMBER_ID", default="")
WHATSAPP_ACCESS_TOKEN = envsecret("WHATSAPP_ACCESS_TOKEN", "")
WHATSAPP_TEMPLATE = env.str("WHATSAPP_TEMPLATE", default="navigator_notice")
WHATSAPP_TIMEOUT_SECONDS = env.float("WHATSAPP_TIMEOUT_SECONDS", default=10.0)
# Family notices: events within this many seconds of the first make one message.
NOTICE_DEBOUNCE_SECONDS = env.int("NOTICE_DEBOUNCE_SECONDS", default=300)
# Coordinators' digest of new family messages and uploads: at most one per this many seconds.
NOTICE_DIGEST_SECONDS = env.int("NOTICE_DIGEST_SECONDS", default=3600)
NOTICE_MAX_ATTEMPTS = env.int("NOTICE_MAX_ATTEMPTS", default=8)
NOTICE_RETRY_BASE_SECONDS = env.int("NOTICE_RETRY_BASE_SECONDS", default=30)
NOTICE_RETRY_MAX_SECONDS = env.int("NOTICE_RETRY_MAX_SECONDS", default=3600)
# A worker holds a notice delivery this long before the sweep hands it to another (longer than a task may run).
NOTICE_LEASE_SECONDS = env.int("NOTICE_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60)
# A delivery queued this long without a worker taking it is queued again (a lost broker message).
NOTICE_REQUEUE_SECONDS = env.int("NOTICE_REQUEUE_SECONDS", default=900)

# --- Security ----------------------------------------------------------------
# Sessions are read from the cache (Redis in production) and written through to the database.
# cached_db, falling back to the database while the cache is unreachable.
SESSION_ENGINE = "navigator.resilience"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_SECONDS", default=60 * 60 * 8)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): scripts and styles only from our own static files,
# no inline script or style, everywhere (the API docs too: their bundles are served locally;
# ReDoc's page alone may add inline styles and a search worker, see navigator/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Staff must pass a TOTP second step to use the admin (privacy.two_factor); off for the demo.
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = "Navigator"
# A device is enrolled only with a one-time code from a supervisor or the email on file; it expires.
TWO_FACTOR_ENROLMENT_CODE_MINUTES = env.int("TWO_FACTOR_ENROLMENT_CODE_MINUTES", default=60)
TWO_FACTOR_RECOVERY_CODES = 10
# Passkeys (WebAuthn) beside TOTP, as a second factor only. The relying party is the admin's public
# host (a passkey is bound to it); origins must be https, or http://localhost for the demo.
_site_host = urlsplit(SITE_URL).hostname or "localhost"
_site_is_ip = _site_host.replace(".", "").isdigit() or ":" in _site_host
OTP_WEBAUTHN_RP_ID = env.str("OTP_WEBAUTHN_RP_ID", default="localhost" if _site_is_ip else _site_host)
OTP_WEBAUTHN_RP_NAME = "Navigator"
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "OTP_WEBAUTHN_ALLOWED_ORIGINS",
    default=["http://localhost:8000"]
    if _site_is_ip
    else [f"{urlsplit(SITE_URL).scheme}://{urlsplit(SITE_URL).netloc}"],
)
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False

# Upload limits (bytes). Large files go through the resumable upload protocol.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=8 * 1024**3)
# Resumable (tus) uploads in progress: parts on local disk, removed when done or expired.
DOCUMENT_UPLOAD_DIR = env.str("DOCUMENT_UPLOAD_DIR", default=str(BASE_DIR / "var" / "uploads"))
DOCUMENT_UPLOAD_EXPIRY_SECONDS = env.int("DOCUMENT_UPLOAD_EXPIRY_SECONDS", default=24 * 3600)

# --- Logging: structured, one JSON line a request, never medical data ---------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "navigator.logging.JSONFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "django.server": {"level": "WARNING"}},
}

# The family portal: invitation links, idle sign-out.
PORTAL_INVITATION_HOURS = env.int("PORTAL_INVITATION_HOURS", default=72)
PORTAL_IDLE_TIMEOUT_SECONDS = env.int("PORTAL_IDLE_TIMEOUT_SECONDS", default=30 * 60)
# Travel: days before departure by which every visa should be granted.
TRAVEL_VISA_LEAD_DAYS = env.int("TRAVEL_VISA_LEAD_DAYS", default=14)
# Reminder sends that fail (an SMS or email provider outage) are retried with exponential
# backoff: 30 s doubling to at most an hour, 11 attempts, about 3.25 to 4 hours in all, before
# the reminder is marked failed and becomes a coordinator task. Keep the longest wait at or
# below CELERY_VISIBILITY_TIMEOUT (a Redis broker redelivers a task held longer).
REMINDER_MAX_ATTEMPTS = env.int("REMINDER_MAX_ATTEMPTS", default=11)
REMINDER_RETRY_BASE_SECONDS = env.int("REMINDER_RETRY_BASE_SECONDS", default=30)
REMINDER_RETRY_MAX_SECONDS = env.int("REMINDER_RETRY_MAX_SECONDS", default=3600)
# Webhooks go to public addresses only; this lets them reach a receiver on 127.0.0.1/localhost
# (development and tests, over plain http too). Never set it in production.
WEBHOOKS_ALLOW_INSECURE_LOCALHOST = env.bool("WEBHOOKS_ALLOW_INSECURE_LOCALHOST", default=False)
# Ports a centre's webhook URL may name (an https URL without a port uses 443). Other ports on a
# public host are refused, so an endpoint cannot aim deliveries at a mail or database server.
WEBHOOKS_ALLOWED_PORTS = frozenset(env.list("WEBHOOKS_ALLOWED_PORTS", cast=int, default=[443, 8443]))

# Audit retention and data protection.
CASE_RETENTION_DAYS = env.int("CASE_RETENTION_DAYS", default=365 * 10)
# An erasure that fails (a locked row, storage down) is retried: ERASURE_RETRY_BASE_SECONDS doubling
# to at most ERASURE_RETRY_MAX_SECONDS, ERASURE_MAX_ATTEMPTS in all; then a supervisor task is
# opened, and the next daily sweep tries again.
ERASURE_MAX_ATTEMPTS = env.int("ERASURE_MAX_ATTEMPTS", default=6)
ERASURE_RETRY_BASE_SECONDS = env.int("ERASURE_RETRY_BASE_SECONDS", default=60)
ERASURE_RETRY_MAX_SECONDS = env.int("ERASURE_RETRY_MAX_SECONDS", default=3600)
# Sign-in attempt logs (django-axes) and the local mail/SMS outbox files are kept this long.
LOGIN_LOG_RETENTION_DAYS = env.int("LOGIN_LOG_RETENTION_DAYS", default=90)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=30)
# A calendar subscription link stops working this many days after it was issued.
CALENDAR_LINK_DAYS = env.int("CALENDAR_LINK_DAYS", default=180)
# A home haematologist's link to the handback stops working this many days after it was issued.
HOME_LINK_DAYS = env.int("HOME_LINK_DAYS", default=90)

# --- Metrics, traces, error reports --------------------------------------------
# /metrics (navigator/ops.py) is closed unless a bearer token or the scrapers' networks are set.
METRICS_TOKEN = envsecret("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
METRICS_CACHE_SECONDS = env.int("METRICS_CACHE_SECONDS", default=15)
# Collectors that read an app's tables at scrape time (navigator.metrics imports no app).
METRICS_COLLECTORS = ["scheduling.metrics.RemindersDue", "webhooks.metrics.WebhookDeliveries"]
# OpenTelemetry traces (OTLP over HTTP) when OTEL_EXPORTER_OTLP_ENDPOINT is set; Sentry error
# reports when SENTRY_DSN is set. Neither is initialised otherwise (navigator/observability.py).
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="navigator")
SENTRY_DSN = envsecret("SENTRY_DSN")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
