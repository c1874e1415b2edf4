"""Settings shared by every environment.

Everything that differs between machines comes from the environment (see ``.env.example``).
``dev``, ``test`` and ``production`` import this module and change only what they must.
"""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# A development default exists only while DEBUG is on; production.py refuses to start without one.
SECRET_KEY = env.str("SECRET_KEY", default="")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "modeltranslation",  # staff write tier, reward and offer texts per language; before the admin
    "members.apps.KlubbAdminConfig",  # Django's admin, open to staff only with two-factor authentication
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "corsheaders",  # the storefront widget's endpoints answer the origins each storefront lists
    "template_partials",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "members",
    "loyalty",
    "referrals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Errors under /api/ and /hooks/ as JSON, whatever answered them (inside the ones that add headers above).
    "config.middleware.JsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
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
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the write lock instead of failing at once when two requests write together.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # psycopg 3 binds parameters on the server, so PostgreSQL keeps a connection's frequent statements prepared
    # (from their DATABASE_PREPARE_THRESHOLD-th run; psycopg's default is 5): about half of PostgreSQL's CPU per
    # order (bench/RESULTS.md, issue 18). Behind PgBouncer in transaction mode this needs PgBouncer 1.21+ with
    # max_prepared_statements set; DATABASE_SERVER_SIDE_BINDING=0 turns it off.
    # PostgreSQL may plan a prepared statement once for any values and keep the plan: the bulk commands, whose
    # tables grow while they run, plan every execution instead (config.bulk.plans_per_execution).
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True,
            prepare_threshold=env.int("DATABASE_PREPARE_THRESHOLD", default=5),
        )

# Members per batch (and per short transaction) in the scheduled jobs.
KLUBB_JOB_BATCH = env.int("KLUBB_JOB_BATCH", default=1000)

# Rate limits (sign-in, sign-up, codes) count in the cache: in production it must be shared by every
# process, e.g. CACHE_URL=rediscache://127.0.0.1:6379/1.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "members.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("nb", "Norsk bokmål"),
    ("da", "Dansk"),
    ("sv", "Svenska"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Oslo")
USE_I18N = True
# Texts staff write (tier names and benefits, rewards, win-back offers, interests) have one field per
# language (name_en, name_nb, ...); a member sees their language, or English where it is left empty.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
# A row made in code in another language (name="Gull" while Norwegian is active) gets the text in English too,
# so that no language is left without one.
MODELTRANSLATION_AUTO_POPULATE = "default"
# Group thousands as the member's language does ("1 250" in Norwegian, "1,250" in English).
USE_THOUSAND_SEPARATOR = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Messages stay on the server: an API key shown once in a message must not travel in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

# --- Sign-in (django-allauth): email only, verified before first login, or a one-time code by email.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
# Adds the first name and "Who invited you?" (a referral code) to sign-up.
ACCOUNT_SIGNUP_FORM_CLASS = "referrals.forms.SignupForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
# Confirming the address in the browser that signed up logs the new member straight in.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_ADAPTER = "members.auth.AccountAdapter"
# allauth's forms that look an address up, each taking it in its canonical form (members.forms).
ACCOUNT_FORMS = {
    "login": "members.forms.LoginForm",
    "request_login_code": "members.forms.RequestLoginCodeForm",
    "reset_password": "members.forms.ResetPasswordForm",
    "change_email": "members.forms.ChangeEmailForm",
}
SOCIALACCOUNT_ADAPTER = "members.auth.SocialAccountAdapter"
# The club's name in emails ("Hello from Nordlys Klubb!") and their subjects.
KLUBB_CLUB_NAME = env.str("KLUBB_CLUB_NAME", default="Klubb")
# The club's privacy policy and membership terms, linked from sign-up and log-in; empty: Klubb's built-in pages
# (/privacy-policy/ and /terms/).
KLUBB_PRIVACY_URL = env.str("KLUBB_PRIVACY_URL", default="")
KLUBB_TERMS_URL = env.str("KLUBB_TERMS_URL", default="")
# Proxies in front of the site that append the client's address to X-Forwarded-For (1 for the TLS proxy of
# README's Production; 0: none, X-Forwarded-For is ignored). Read by config.proxies.client_ip, which every
# use of the client's address goes through: allauth's per-address rate limits, referral rules, consent proofs.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# Throttling (counted in the cache). "key" is the email address or account the attempt is about.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "10/m/ip",
    "request_login_code": "10/m/ip,3/m/key",
    "reset_password": "10/m/ip,3/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}

# "Log in with Vipps": allauth's OpenID Connect provider, on only when all three settings are given.
# VIPPS_SERVER_URL is the issuer, e.g. https://api.vipps.no/access-management-1.0/access/ (test:
# https://apitest.vipps.no/access-management-1.0/access/); its /.well-known/openid-configuration is read.
VIPPS_CLIENT_ID = env.str("VIPPS_CLIENT_ID", default="")
VIPPS_CLIENT_SECRET = env.str("VIPPS_CLIENT_SECRET", default="")
VIPPS_SERVER_URL = env.str("VIPPS_SERVER_URL", default="")


VIPPS_SCOPES = ["openid", "email", "name", "phoneNumber"]  # Vipps Login's own scope names


def vipps_provider_settings(*, client_id: str, secret: str, server_url: str, scopes: list[str] = VIPPS_SCOPES) -> dict:
    """allauth's SOCIALACCOUNT_PROVIDERS entry for Vipps Login (also used by the tests with a local provider)."""
    if not (client_id and secret and server_url):
        return {"openid_connect": {"APPS": []}}
    return {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "vipps",
                    "name": "Vipps",
                    "client_id": client_id,
                    "secret": secret,
                    "settings": {
                        "server_url": server_url,
                        "token_auth_method": "client_secret_basic",
                        "scope": scopes,
                    },
                }
            ],
        }
    }


SOCIALACCOUNT_PROVIDERS = vipps_provider_settings(
    client_id=VIPPS_CLIENT_ID, secret=VIPPS_CLIENT_SECRET, server_url=VIPPS_SERVER_URL
)
# Vipps has verified the email address: a Vipps login of a known address logs into that member.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False

# Two-factor authentication (allauth.mfa): required for staff (see members.admin_site), open to members.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Klubb")

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Klubb <klubb@localhost>")

# Bodies larger than this are refused with 413 before they are parsed (API and webhooks alike).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", default=256 * 1024)
KLUBB_MAX_REQUEST_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["loyalty.shops.auth.ApiKeyAuthentication"],
    # A shop's key, with the scope the operation names (``required_scope``): 403 ``scope_missing`` without it.
    "DEFAULT_PERMISSION_CLASSES": ["loyalty.shops.auth.IsShop", "loyalty.shops.auth.HasScope"],
    "DEFAULT_PARSER_CLASSES": ["loyalty.api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "loyalty.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "loyalty.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["loyalty.shops.auth.ApiKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "loyalty.api.schema.ScopedAutoSchema",
    "UNAUTHENTICATED_USER": None,
}

# The storefront widget (/embed/v1/): CORS only there, and only for the origins a storefront lists
# (loyalty.embed.cors answers django-cors-headers' check_request_enabled); requests per client address.
CORS_URLS_REGEX = r"^/embed/v1/.*$"
KLUBB_EMBED_RATE_LIMIT = env.str("EMBED_RATE_LIMIT", default="300/min")
# The demo storefront (/demo/storefront/, loyalty.embed.demo) is served with DEBUG on, or where this is set.
KLUBB_DEMO_STOREFRONT = env.bool("KLUBB_DEMO_STOREFRONT", default=False)

# Requests per API key (the shop API), e.g. "600/min", "20/s", "10000/hour"; over it: 429 with Retry-After.
KLUBB_API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/min")
# Outgoing webhooks go only to https URLs; http only with DEBUG (development and tests: receivers on this machine).
KLUBB_WEBHOOKS_ALLOW_HTTP = DEBUG

SPECTACULAR_SETTINGS = {
    "TITLE": "Klubb shop API",
    "DESCRIPTION": (
        "Report orders and refunds, look members up and enrol them. Authenticate with "
        "`Authorization: Bearer <api key>`; create a key with `manage.py create_shop` or in the admin. "
        'Every error is JSON `{"code", "message", "field"}` with a stable `code`.'
        "\n\n## Scopes\n\n"
        "A key does what its scopes allow, chosen when it is made: `orders` (orders, refunds, the points preview), "
        "`members:read`, `members:write` (enrol), `consents`, `redemptions`, `vouchers`, `events`, `referrals`, "
        "and `members:all`. Each operation names its scope; without it the answer is 403 `scope_missing`. A shop "
        "sees the personal data of its own customers only (members it enrolled, named by its customer id, or has "
        "an order from): any other member is 404 `member_not_found`, unless the key has `members:all`."
        # --- Outbound webhooks
        "\n\n## Webhooks to your shop\n\n"
        "Staff subscribe a shop's https URL to events (`member.enrolled`, `points.changed`, `tier.changed`, "
        "`reward.redeemed`, `referral.rewarded`) in the "
        "admin. A subscription receives an event about members only when they are all its shop's customers, "
        "whichever shop caused it; staff may make a subscription club-wide, to receive every member's events. "
        'Each event is a `POST` with JSON `{"id", "type", "created_at", "data"}` and headers '
        "`X-Klubb-Event-Id` (the same on every retry: deduplicate by it), `X-Klubb-Event-Type`, "
        "`X-Klubb-Timestamp` (unix seconds) and `X-Klubb-Signature: t=<timestamp>,v1=<hex>`, where `<hex>` "
        'is HMAC-SHA256 of `"<timestamp>.<raw body>"` keyed with the subscription secret. Verify it over the '
        "raw bytes and reject old timestamps:\n\n"
        "```python\n"
        "import hashlib, hmac, time\n\n"
        "def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:\n"
        '    parts = dict(p.split("=", 1) for p in header.split(","))\n'
        "    expected = hmac.new(secret.encode(), f\"{parts['t']}.\".encode() + body, hashlib.sha256).hexdigest()\n"
        '    fresh = abs(time.time() - int(parts["t"])) <= tolerance\n'
        '    return fresh and hmac.compare_digest(expected, parts["v1"])\n'
        "```\n\n"
        "Answer 2xx within 10 seconds: one deadline for the whole attempt, your whole answer read (an answer "
        "trickled slowly runs out of it too). Anything else is retried with exponential backoff "
        "(30 s doubling, at most an hour apart) for 24 hours, then given up. Klubb generates the signing secret "
        "and shows it once; staff can rotate it in the admin."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "loyalty.api.schema.add_throttled_response",
        "loyalty.api.schema.require_bodies_that_need_a_field",
    ],
}

# Celery: without a broker URL, tasks run in-process (the demo and the test suite need no broker).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With Redis, a task taken by a worker that died unacknowledged goes back to the queue after this long;
# workers look for such tasks every quarter of it (at most every minute).
_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _VISIBILITY_TIMEOUT,
    "unacked_restore_interval": max(1, min(60, _VISIBILITY_TIMEOUT // 4)),
    "unacked_restore_throttle": 1,
}
# Retry a task whose broker connection or database hiccupped, with backoff (tasks are idempotent).
CELERY_TASK_DEFAULT_RETRY_DELAY = 10
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# --- Outbound webhooks: retry due deliveries, and any whose task was lost, every minute (`make beat`).
CELERY_BEAT_SCHEDULE = {
    "webhooks-retry-due": {"task": "loyalty.webhooks_retry_due", "schedule": 60.0},
    # Give back the points of checkouts neither completed nor abandoned within the reservation time.
    "redemptions-expire": {"task": "loyalty.redemptions_expire", "schedule": 60.0},
    # Pay referrers whose friend's order has passed the return window.
    "referrals-reward-due": {"task": "referrals.reward_due", "schedule": 15 * 60.0},
    # The points engine's nightly jobs (Europe/Oslo time by default).
    "points-expire": {"task": "loyalty.points_expire", "schedule": crontab(hour=2, minute=0)},
    # Pending points whose return window has passed become spendable (hourly: a window ends at any time of day).
    "points-confirm": {"task": "loyalty.points_confirm", "schedule": crontab(minute=15)},
    "winback": {"task": "loyalty.winback", "schedule": crontab(hour=11, minute=0)},
    "expiry-warn": {"task": "loyalty.expiry_warn", "schedule": crontab(hour=10, minute=0)},
    "tier-review": {"task": "loyalty.tier_review", "schedule": crontab(hour=3, minute=0)},
    "birthday-bonuses": {"task": "loyalty.birthday_bonuses", "schedule": crontab(hour=8, minute=0)},
    # Replenishment reminders fall due at 10:00 in each member's time zone: hourly reaches every zone's 10:00.
    "replenishment-remind": {"task": "loyalty.replenishment_remind", "schedule": crontab(minute=5)},
    # Messages: queued ones go after their commit; this sends those that waited (quiet hours, retries).
    "send-due-messages": {"task": "members.send_due_messages", "schedule": 60.0},
}

# Content-Security-Policy (django-csp 4): no inline script without the per-response nonce, nothing from
# other origins, no framing. Style attributes stay allowed (tier colours, progress bars); <style> elements not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "style-src-elem": [SELF],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
# Headers SecurityMiddleware sends on every response (production adds HSTS and secure cookies).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The portal copies codes to the clipboard (allowed by default for the site itself) and uses nothing below.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Messages to members (members.messaging). Links in emails and SMS point at the portal's public address.
KLUBB_PORTAL_URL = env.str("KLUBB_PORTAL_URL", default="http://127.0.0.1:8000/")
# SMS: members.sms.ConsoleBackend logs them; members.sms.FortySixElksBackend sends through 46elks.
SMS_BACKEND = env.str("SMS_BACKEND", default="members.sms.ConsoleBackend")
SMS_SENDER = env.str("SMS_SENDER", default="Klubb")  # an alphanumeric sender (max 11) or the club's number
SMS_46ELKS_URL = env.str("SMS_46ELKS_URL", default="https://api.46elks.com")
SMS_46ELKS_USERNAME = env.str("SMS_46ELKS_USERNAME", default="")
SMS_46ELKS_PASSWORD = env.str("SMS_46ELKS_PASSWORD", default="")
# The secret part of the address 46elks posts replies to (/hooks/sms/46elks/<token>/); empty: off.
SMS_INBOUND_TOKEN = env.str("SMS_INBOUND_TOKEN", default="")

EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)

# Each network step of sending a message (connecting, each command and reply of the mail server's conversation,
# the SMS provider's answer) gives up after this many seconds.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
SMS_TIMEOUT = env.int("SMS_TIMEOUT", default=10)
# A worker holds each message it sends for this many seconds from the start of that send, and no other worker
# takes it meanwhile (members.messaging.send). It must outlast the slowest send, or a slow one is sent twice: a
# send is at most MESSAGE_SEND_STEPS network steps (an SMTP conversation with STARTTLS and login is about a
# dozen), each within its timeout, plus a margin for the database.
MESSAGE_SEND_STEPS = 15
MESSAGE_SEND_MARGIN = 60
_SEND_LONGEST = MESSAGE_SEND_STEPS * max(EMAIL_TIMEOUT, SMS_TIMEOUT) + MESSAGE_SEND_MARGIN
KLUBB_MESSAGE_LEASE_SECONDS = env.int("MESSAGE_SEND_LEASE", default=max(300, _SEND_LONGEST))
if KLUBB_MESSAGE_LEASE_SECONDS < _SEND_LONGEST:
    raise ImproperlyConfigured(
        f"MESSAGE_SEND_LEASE ({KLUBB_MESSAGE_LEASE_SECONDS} s) must be at least {_SEND_LONGEST} s: "
        f"{MESSAGE_SEND_STEPS} steps of EMAIL_TIMEOUT or SMS_TIMEOUT (the longer), plus {MESSAGE_SEND_MARGIN} s."
    )
