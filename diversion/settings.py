"""Settings for the diversion case-management service.

Everything that differs between machines comes from the environment, read here and nowhere
else. A variable set to the empty string counts as unset (docker-compose.yml passes every
setting through, empty when the operator left it out), so the default below applies. With
nothing set, `scripts/stack.py` (which `make` and `manage.py` use) starts an embedded
PostgreSQL and Redis and sets DATABASE_URL and REDIS_URL before Django starts: PostgreSQL is
the only database engine.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """Read a setting from the environment; unset or empty, the default."""
    return os.environ.get(name, "").strip() or default


def env_int(name: str, default: int) -> int:
    """Read a whole number from the environment, with a message naming it when it is not one."""
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no setting from the environment."""
    value = env(name)
    if not value:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated list from the environment."""
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_required(name: str, hint: str) -> str:
    """Read a setting that has no safe default, with a message saying how to provide it."""
    value = env(name)
    if not value:
        raise ImproperlyConfigured(f"{name} is not set: {hint} (see README, Configuration).")
    return value


NOTIFY_TEMPLATE_PREFIX = "NOTIFY_TEMPLATE_"
NOTIFY_CHANNELS = ("email", "sms")
NOTIFY_LANGUAGES = ("en", "cy")


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def notify_api_key(value: str) -> str:
    """A GOV.UK Notify API key as Notify shows it (its name, the service id and the secret,
    joined by hyphens), or "" when unset. A malformed key is refused, without repeating it."""
    key = value.strip()
    if not key:
        return ""
    service_id, secret = key[-73:-37], key[-36:]
    if (
        len(key) < 75
        or key[-74] != "-"
        or key[-37] != "-"
        or not (_is_uuid(service_id) and _is_uuid(secret))
    ):
        raise ImproperlyConfigured(
            "NOTIFY_API_KEY is not a GOV.UK Notify API key: it must end with two ids of 36 "
            "characters (the service id, then the secret key), joined by hyphens to the key's "
            "name, as Notify's API keys page shows it. Copy the whole key again, or unset "
            "NOTIFY_API_KEY to use the email and SMS backends (see README, Configuration)."
        )
    return key


def notify_templates(
    environ: Mapping[str, str], *, required: bool
) -> dict[tuple[str, str, str], str]:
    """Notify template ids by (kind, channel, language), from NOTIFY_TEMPLATE_<KIND>_<CHANNEL>_
    <LANGUAGE> variables. Refuses a malformed name or id, and, when `required`, a missing
    "message" template (email or SMS, English), which carries any kind without its own."""
    templates: dict[tuple[str, str, str], str] = {}
    for name, value in environ.items():
        if not name.startswith(NOTIFY_TEMPLATE_PREFIX) or not value.strip():
            continue
        kind, _, rest = name[len(NOTIFY_TEMPLATE_PREFIX) :].lower().rpartition("_")
        kind, _, channel = kind.rpartition("_")
        language = rest
        if not kind or channel not in NOTIFY_CHANNELS or language not in NOTIFY_LANGUAGES:
            raise ImproperlyConfigured(
                f"{name} is not a Notify template setting: name it NOTIFY_TEMPLATE_<KIND>_"
                "<EMAIL or SMS>_<EN or CY>, e.g. NOTIFY_TEMPLATE_REMINDER_COMPLETION_SMS_CY."
            )
        if not _is_uuid(value.strip()):
            raise ImproperlyConfigured(
                f"{name} is not a Notify template id: copy the template's ID from Notify "
                "(36 characters, like 6f6b31b5-0c1f-4b7e-9a4d-1f2e3d4c5b6a)."
            )
        templates[(kind, channel, language)] = value.strip().lower()
    if required:
        for channel in NOTIFY_CHANNELS:
            if ("message", channel, "en") not in templates:
                raise ImproperlyConfigured(
                    f"NOTIFY_TEMPLATE_MESSAGE_{channel.upper()}_EN is not set: with "
                    "NOTIFY_API_KEY set, give the id of a Notify template whose "
                    + ("subject is ((subject)) and " if channel == "email" else "")
                    + "body is ((body)), for messages without a template of their own."
                )
    return templates


SERVICES_HINT = (
    "start the service with `make run` or `make test`, which start an embedded PostgreSQL and "
    "Redis, or point it at your own server"
)


DEBUG = env_bool("DEBUG")
# With DEBUG on (the demo, development) the service still shows its own 404 and 500 pages,
# not Django's technical ones (which list every URL); set TECHNICAL_ERROR_PAGES=1 to see those.
TECHNICAL_ERROR_PAGES = env_bool("TECHNICAL_ERROR_PAGES")
SECRET_KEY = env("SECRET_KEY") or (
    "insecure-development-key-never-used-in-production"
    if DEBUG
    else env_required("SECRET_KEY", "set it to a long random value (`make run` makes one)")
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "django.forms",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "accounts",
    "audit",
    "cases",
    "programmes",
    "escalations",
    "reports",
    "retention",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "diversion.middleware.LimitBodySizeMiddleware",
    "diversion.middleware.RejectNulBytesMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "diversion.middleware.DatabaseUnavailableMiddleware",
    "accounts.middleware.RequireTwoFactorMiddleware",
    "accounts.middleware.RefreshSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "axes.middleware.AxesMiddleware",
    "diversion.middleware.ServiceErrorPagesMiddleware",
]

ROOT_URLCONF = "diversion.urls"

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
                "diversion.context_processors.service",
                "diversion.context_processors.navigation",
            ],
        },
    },
]
# Django's own form templates are overridden in templates/django/forms/ with GOV.UK markup.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

WSGI_APPLICATION = "diversion.wsgi.application"
ASGI_APPLICATION = "diversion.asgi.application"

# Connections are kept for a minute and checked before each request reuses one, so the first
# request after PostgreSQL restarts (or drops an idle connection) reconnects instead of failing.
DATABASES = {
    "default": dj_database_url.parse(
        env_required("DATABASE_URL", SERVICES_HINT),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Two database roles (audit/roles.py): DATABASE_URL is the least-privilege runtime role that
# web, worker and beat use; DATABASE_OWNER_URL (same server and database, another user) owns
# the schema, and only `migrate`, `flush` and the test database set-up connect with it.
DATABASE_OWNER = (
    dj_database_url.parse(env("DATABASE_OWNER_URL")) if env("DATABASE_OWNER_URL") else None
)
# A read replica for the analysts' reports (reports/routers.py): when REPORTS_DATABASE_URL is
# set, report queries and exports read from it; everything else, the reports' audit rows
# included, stays on the primary. In tests it mirrors the default database.
if env("REPORTS_DATABASE_URL"):
    DATABASES["reports"] = {
        **dj_database_url.parse(
            env("REPORTS_DATABASE_URL"),
            conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
            conn_health_checks=True,
        ),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["reports.routers.ReportsRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out user before the password
    "accounts.backends.UserWithOrganisationBackend",
]
# Lockout (accounts/lockout.py): five failed sign-ins for a username lock that username for 30
# minutes, wherever they come from; thirty from one address, over any usernames, lock that
# address. The address limit is loose on purpose: a police station or provider office shares
# one address, and one person's typos must not lock out everyone there. Attempts while locked
# are not counted.
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 30)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # axes would log usernames and addresses
# Roles that must prove a second factor (a TOTP code) after their password.
TWO_FACTOR_ROLES = ("supervisor", "administrator")
OTP_TOTP_ISSUER = "Drug diversion case management"
# API tokens (accounts.models.ApiToken) expire: this is the lifetime offered when one is made.
API_TOKEN_LIFETIME_DAYS = env_int("API_TOKEN_LIFETIME_DAYS", 90)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
# The age above is an idle timeout, not a fixed lifetime: accounts.middleware.
# RefreshSessionMiddleware saves an active session again at most once a minute.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True

# HTTPS everywhere outside development. Behind a TLS-terminating proxy, the proxy must set
# X-Forwarded-Proto. The health checks stay reachable over plain HTTP for orchestrators.
# PLAIN_HTTP=1 is the one switch to try the service over http on this machine (docker compose
# with DEBUG off): no redirect, no HSTS, cookies over http. It refuses any host but localhost.
PLAIN_HTTP = env_bool("PLAIN_HTTP")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
if PLAIN_HTTP and not set(ALLOWED_HOSTS) <= LOCAL_HOSTS:
    raise ImproperlyConfigured(
        "PLAIN_HTTP=1 is for trying the service on this machine only: ALLOWED_HOSTS may then "
        f"hold only {', '.join(sorted(LOCAL_HOSTS))}. Serve other machines over HTTPS."
    )
HTTPS_ONLY = not (DEBUG or PLAIN_HTTP)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", HTTPS_ONLY)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS_ONLY)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# A strict Content Security Policy: no inline scripts or styles, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
# Corrections to Django's own translations (locale/cy: the Welsh for July).
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REDIS_URL = env_required("REDIS_URL", SERVICES_HINT)
CELERY_BROKER_URL = REDIS_URL
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True  # a task killed half-way is delivered again, not lost
# ...once this many seconds have passed since it was taken (Redis has no other way to know its
# worker died). Longer than any task runs, or a slow task would be run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

REST_FRAMEWORK = {
    # Token first, so a missing or bad token is a 401 with WWW-Authenticate, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "base.api.exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only (415 for anything else), refusing NUL characters and JSON nested too deep.
    "DEFAULT_PARSER_CLASSES": ["base.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# The largest request body accepted, API or form (413 beyond it): every form and endpoint
# takes a few kilobytes at most.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000
SPECTACULAR_SETTINGS = {
    "TITLE": "Drug diversion case management API",
    "DESCRIPTION": (
        "Cases, eligibility decisions and programme referrals for police drug diversion "
        "schemes. Every endpoint is scoped to the signed-in user's organisation."
    ),
    "VERSION": "1.0.0",
    # Every error of every operation documented, in the one shape of base/api.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "base.api.document_errors",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from this site (drf-spectacular-sidecar), not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "cases.models.CaseStatus",
        "ReferralStatusEnum": "programmes.models.ReferralStatus",
        "CaseOutcomeEnum": "cases.models.CaseOutcome",
        "AttendanceOutcomeEnum": "programmes.models.Attendance.Outcome",
        "AppointmentKindEnum": "programmes.models.Appointment.Kind",
        "ProgrammeReportOutcomeEnum": "programmes.models.ProgrammeReport.Outcome",
    },
}

SERVICE_NAME = "Drug diversion case management"

# Disclosure control of every figure the reports publish (reports/disclosure.py): counts from 1
# to DISCLOSURE_SMALLEST_SHOWN - 1 are shown as a marker, others rounded to the nearest
# DISCLOSURE_ROUND_TO; a rate or median needs at least DISCLOSURE_MIN_BASE people.
DISCLOSURE_SMALLEST_SHOWN = env_int("DISCLOSURE_SMALLEST_SHOWN", 8)
DISCLOSURE_ROUND_TO = env_int("DISCLOSURE_ROUND_TO", 5)
DISCLOSURE_MIN_BASE = env_int("DISCLOSURE_MIN_BASE", 8)
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

# Notifications (programmes/notifications.py): an outbox sent by Celery. Email goes through
# Django's email backend ("console", "file", "smtp" or a dotted path); SMS through
# NOTIFICATION_SMS_BACKEND ("console", "file" or a dotted path). Console and file are for
# development: they write message text, which is personal data, to the log or var/.
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}
# Console in development; SMTP otherwise, so a deployment never prints messages to its logs.
EMAIL_BACKEND = env("EMAIL_BACKEND", "console" if DEBUG else "smtp")
EMAIL_BACKEND = _EMAIL_BACKENDS.get(EMAIL_BACKEND, EMAIL_BACKEND)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)  # a hung server must not hold a worker
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Drug diversion service <no-reply@localhost>")
NOTIFICATION_FILE_DIR = Path(env("NOTIFICATION_FILE_DIR", str(BASE_DIR / "var" / "notifications")))
EMAIL_FILE_PATH = NOTIFICATION_FILE_DIR / "email"
# No SMS gateway is built in: a deployment names its gateway's class here. Until it does,
# SMS reminders stay in the outbox, failing loudly ("disabled"), rather than going to a log.
NOTIFICATION_SMS_BACKEND = env("NOTIFICATION_SMS_BACKEND", "console" if DEBUG else "disabled")

# GOV.UK Notify (programmes/notify.py): with NOTIFY_API_KEY set, email and SMS go through
# Notify instead of the backends above, each kind of message by its Notify template, chosen
# by NOTIFY_TEMPLATE_<KIND>_<CHANNEL>_<LANGUAGE> (e.g. NOTIFY_TEMPLATE_REMINDER_COMPLETION_SMS_CY).
# A kind without a template of its own goes by the "message" templates, whose subject is
# ((subject)) and body ((body)): those two (email and SMS, English) are required with a key.
# A malformed key or template id stops the service at start-up, saying which setting is wrong.
NOTIFY_API_KEY = notify_api_key(env("NOTIFY_API_KEY"))
NOTIFY_BASE_URL = env("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
NOTIFY_TIMEOUT = env_int("NOTIFY_TIMEOUT", 10)  # seconds for one call to Notify
NOTIFY_TEMPLATES = notify_templates(os.environ, required=bool(NOTIFY_API_KEY))

# Application logs never carry personal data: only identifiers and outcomes go to stdout.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
