"""Keel settings: one module, every knob from the environment.

The defaults describe the embedded mode (`make run`): SQLite under var/, a filesystem Celery broker,
no outside services. Production sets DATABASE_URL, REDIS_URL, DJANGO_SECRET_KEY and
DJANGO_DEBUG=false; nothing exists only in production. Every variable is listed in .env.example.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from csp.constants import NONE, SELF

from .database import tune

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("KEEL_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# --- Core -------------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# KEEL_EMBEDDED=true (set by `make run` and `make test`) is the single-machine demo on plain http
# over loopback: it may default the secret and relaxes the https-only cookie/redirect defaults.
# Without it, Keel starts secure: no default secret, Secure cookies, HSTS, https redirect.
EMBEDDED = env.bool("KEEL_EMBEDDED", default=False)
# Read straight from os.environ: django-environ treats a value starting with "$" as the name of
# another variable, and Django's own generated keys may start with "$".
# Left empty when unset, so that build steps (makemigrations, collectstatic) need no secret; whatever
# serves or signs refuses to start without one (core/startup.py: the system check, wsgi/asgi, Celery).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY and (DEBUG or EMBEDDED):
    SECRET_KEY = "insecure-embedded-only-" + "k" * 40
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "csp",
    "axes",
    "core",
    "projects",
    "governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",
    # POST /api/v1/lineage with an API token (a producer's bursts) answered here, without the middleware
    # below and DRF's machinery: same work, same answer (governance/api/lineage_fast.py says how).
    "governance.api.lineage_fast.LineageIngestMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.RequestContextMiddleware",
    # Axes must come last: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
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
                "core.context_processors.roles",
            ],
            # Filters every page uses (core/templatetags/people.py: how a page names a person).
            "builtins": ["core.templatetags.people"],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": tune(env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'keel.sqlite3'}"))}
# Persistent connections, SQLite included: opening one costs a PostgreSQL handshake, or on SQLite the
# PRAGMAs above plus, when the last connection to the file closes, a WAL checkpoint — ~2.4 ms of every
# request that was measured (lineage ingest, docs/benchmarks.md), more than the request's own work.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------------
# Single sign-on (core/oidc.py; README "Single sign-on"), off unless KEEL_OIDC_ISSUER is set. Groups give roles
# and team leadership at every sign-in (group=role, group=team slug). KEEL_LOCAL_PASSWORDS=false: SSO only.
KEEL_OIDC_ISSUER = env.str("KEEL_OIDC_ISSUER", default="").rstrip("/")
KEEL_OIDC_PROVIDER_NAME = env.str("KEEL_OIDC_PROVIDER_NAME", default="single sign-on")
OIDC_RP_CLIENT_ID = env.str("KEEL_OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = os.environ.get("KEEL_OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = env.str("KEEL_OIDC_SCOPES", default="openid email profile")
OIDC_RP_SIGN_ALGO = env.str("KEEL_OIDC_SIGN_ALGO", default="RS256")
KEEL_OIDC_ROLES_CLAIM = env.str("KEEL_OIDC_ROLES_CLAIM", default="groups")
KEEL_OIDC_ROLE_MAP = env.dict("KEEL_OIDC_ROLE_MAP", default={})
KEEL_OIDC_TEAM_LEAD_MAP = env.dict("KEEL_OIDC_TEAM_LEAD_MAP", default={})
OIDC_TIMEOUT = env.float("KEEL_OIDC_TIMEOUT_SECONDS", default=10.0)
OIDC_VERIFY_SSL = env.bool("KEEL_OIDC_VERIFY_TLS", default=True)
KEEL_LOCAL_PASSWORDS = env.bool("KEEL_LOCAL_PASSWORDS", default=True)
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    *(["django.contrib.auth.backends.ModelBackend"] if KEEL_LOCAL_PASSWORDS else []),
    *(["projects.inventory.oidc.OIDCBackend"] if KEEL_OIDC_ISSUER else []),  # core's, plus team leadership
    "core.backends.AdminRoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failures, with a cool-off rather than a permanent lock
# (a permanent lock would let anyone lock out a risk officer by guessing at their account).
AXES_FAILURE_LIMIT = env.int("KEEL_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("KEEL_LOGIN_COOLOFF_MINUTES", default=15) / 60  # hours
# One lock per username *and* address together (axes 8: an inner list is a combination; a flat list would
# mean either key, and a lock on the username alone lets anyone lock a risk officer out from anywhere, a
# lock on the address alone locks everyone behind one proxy or NAT). Spraying many accounts from one
# address is left to the proxy's rate limit.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The address axes keys on is the one Keel's audit trail records: core/client_address.py (which reads
# X-Forwarded-For only behind a proxy, from the configured number of trusted hops).
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_WHITELIST_CALLABLE = "core.oidc.axes_exempt"

# --- Sessions, cookies, headers ---------------------------------------------------------------------
SESSION_COOKIE_AGE = env.int("KEEL_SESSION_AGE_SECONDS", default=8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
_PLAIN_HTTP = DEBUG or EMBEDDED
SECURE_COOKIES = env.bool("KEEL_SECURE_COOKIES", default=not _PLAIN_HTTP)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if _PLAIN_HTTP else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not _PLAIN_HTTP)
# Behind a TLS-terminating proxy, set KEEL_BEHIND_PROXY=true so Django trusts X-Forwarded-Proto, and the
# sign-in lockout and the audit trail take the client's address from X-Forwarded-For: the entry
# KEEL_PROXY_TRUSTED_HOPS from the right (1: one proxy, which appends the address it saw).
KEEL_BEHIND_PROXY = env.bool("KEEL_BEHIND_PROXY", default=False)
KEEL_PROXY_TRUSTED_HOPS = env.int("KEEL_PROXY_TRUSTED_HOPS", default=1)
if KEEL_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz and /readyz are probed over plain http by load balancers and supervisors.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Content-Security-Policy: scripts only from our own static files (no inline scripts, no eval);
# styles allow inline because plotly.js and Swagger UI set style attributes at run time.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
if KEEL_OIDC_ISSUER:  # sign-out posts to /logout/, which redirects to the provider: form-action covers that
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append("/".join(KEEL_OIDC_ISSUER.split("/")[:3]))

# --- Uploaded files (compliance evidence) --------------------------------------------------------------
# Kept under var/ and never served publicly (no MEDIA_URL route): governance serves each evidence file
# only to users who may see its project.
MEDIA_ROOT = Path(env.str("KEEL_MEDIA_ROOT", default=str(VAR_DIR / "media")))
KEEL_EVIDENCE_MAX_BYTES = env.int("KEEL_EVIDENCE_MAX_BYTES", default=10 * 1024 * 1024)

# --- I18N / time ------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("KEEL_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# Dates and months people and files give (ROI and FX months, start months, due dates…) lie from 1 January
# of KEEL_DATE_MIN_YEAR to 31 December of this year + KEEL_DATE_MAX_YEARS_AHEAD (core/dates.py): a typo
# such as 9999-12 is refused rather than stored (one far-future actual made the dashboard 10x slower).
KEEL_DATE_MIN_YEAR = env.int("KEEL_DATE_MIN_YEAR", default=2000)
KEEL_DATE_MAX_YEARS_AHEAD = env.int("KEEL_DATE_MAX_YEARS_AHEAD", default=10)

# --- Static -----------------------------------------------------------------------------------------
STATIC_URL = "/static/"
# A container image collects static files at build time, outside the data volume (KEEL_VAR_DIR).
STATIC_ROOT = Path(env.str("KEEL_STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
# plotly.js is static/vendor/plotly/plotly-cartesian.min.js (its README says where from). Whitenoise serves
# every hashed name (CompressedManifestStaticFilesStorage) with "max-age=315360000, public, immutable".
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "KEEL_STATICFILES_STORAGE", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Cache ------------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST framework ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.ApiTokenAuthentication",
        # The same token as `Authorization: Bearer <key>` (OpenLineage's transport, most HTTP clients).
        "core.authentication.BearerApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every endpoint needs a signed-in user and a role that allows the operation.
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter's backend, less the filter form of a request that names no filter (core.api.filters).
        "core.api.filters.FilterBackend",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.KeelAutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Every JSON body is parsed with a nesting bound (core.api.parsers): a deeply nested one is a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.BoundedJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")
# Oversize request bodies are refused before any parsing (413/400), protecting workers' memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("KEEL_MAX_REQUEST_BYTES", default=1024 * 1024)
# Multipart bodies (file uploads) may be larger; each upload also has its own limit below this.
KEEL_MAX_UPLOAD_BYTES = env.int("KEEL_MAX_UPLOAD_BYTES", default=12 * 1024 * 1024)
# OpenLineage ingest's own body limit (a Spark event with its logical plan runs to megabytes), as sent
# and once un-gzipped; and the size past which a bulky diagnostic facet is stored cut down.
KEEL_LINEAGE_MAX_BODY_BYTES = env.int("KEEL_LINEAGE_MAX_BODY_BYTES", default=16 * 1024 * 1024)
KEEL_LINEAGE_FACET_MAX_BYTES = env.int("KEEL_LINEAGE_FACET_MAX_BYTES", default=64 * 1024)
# Namespace patterns a token without its own may post lineage to (empty: none).
KEEL_LINEAGE_DEFAULT_NAMESPACES = env.list("KEEL_LINEAGE_DEFAULT_NAMESPACES", default=[])

SPECTACULAR_SETTINGS = {
    "TITLE": "Keel API",
    "DESCRIPTION": (
        "AI governance and operationalization: teams and projects; registries, registered models, model"
        " versions and observed deployments; ROI entries and FX rates; risk-tier assessments, risks,"
        " mitigations and findings; sign-offs, sign-off policies and the deployment gate; datasets, PII"
        " classifications and OpenLineage ingest; compliance obligations and evidence; the portfolio"
        " summary; the audit trail."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["core.permissions.HasAnyRole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Publishes the `Error` component (core.api.exceptions) and each operation's 400/401/403/404 answers.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api.schema.add_error_responses"],
    # Two choice sets share the field name "stage" (every stage, and the stages a project may start at):
    # naming the full set StageEnum leaves the other as ProjectCreateStageEnum, without a collision warning.
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "projects.models.Stage",
        # A project's risk_tier and an assessment's tier are one choice set.
        "RiskTierEnum": "projects.models.RiskTier",
        # Sign-off: a decision's role, the roles a policy requires, the role a reviewer fills; and statuses.
        "ReviewerRoleEnum": "governance.models.signoff.REVIEWER_ROLE_CHOICES",
        "SignOffStatusEnum": "governance.models.SignOffStatus",
        "VerdictEnum": "governance.models.Verdict",
        # Risks and mitigations both have a "status"; a risk's residual level and a finding's severity
        # share one choice set (low … critical).
        "RiskStatusEnum": "governance.models.RiskStatus",
        "MitigationStatusEnum": "governance.models.MitigationStatus",
        "LevelEnum": "governance.risks.scoring.Level",
        # ROI entries: "kind" is also a registry's and a finding's field.
        "RoiKindEnum": "projects.models.RoiKind",
        "RoiCategoryEnum": "projects.models.RoiCategory",
        "RoiBasisEnum": "projects.models.RoiBasis",
        # ... and "category" a risk's: naming both keeps either from a hash-suffixed name.
        "RiskCategoryEnum": "governance.models.risks.RiskCategory",
    },
}

# --- Celery -----------------------------------------------------------------------------------------
# Embedded default: kombu's filesystem transport under var/, so `make run` needs no broker server.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # The exchange tables (routing, remote control): kombu's default is "control" in the current
        # directory, which would give each process its own tables depending on where it was started.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Must exceed the longest task time limit, or Redis redelivers a task that is still running. It is
    # also how long a late-ack task whose whole worker was killed waits before another worker gets it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("KEEL_BROKER_VISIBILITY_TIMEOUT", default=900)}
    # kombu looks for such messages every unacked_restore_interval x unacked_restore_throttle seconds
    # (10 x 10 by default) and once when a worker starts; a positive value here makes it that many seconds.
    if _restore_every := env.int("KEEL_BROKER_RESTORE_INTERVAL_SECONDS", default=0):
        CELERY_BROKER_TRANSPORT_OPTIONS |= {"unacked_restore_interval": _restore_every, "unacked_restore_throttle": 1}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# Each task's time limits, in seconds, by its registered name: the soft limit raises SoftTimeLimitExceeded
# inside the task (so it can record the failure), the hard one kills the worker child. Every task's
# decorator reads its entry: `@shared_task(name=..., **settings.KEEL_TASK_TIME_LIMITS[name])`.
# KEEL_TASK_TIME_LIMITS (a JSON object of name -> [soft, hard]) overrides entries. Keep every hard limit
# below KEEL_BROKER_VISIBILITY_TIMEOUT, and the sync's below KEEL_SYNC_LOCK_TTL_SECONDS.
_TASK_TIME_LIMITS = {
    "core.tasks.heartbeat": (20, 30),
    "projects.tasks.sync_registry": (240, 300),
    "projects.tasks.sync_due_registries": (50, 60),
    "governance.tasks.mark_overdue_reviews": (240, 300),
    "governance.tasks.check_value_decay": (240, 300),
    "governance.tasks.expire_signoffs": (240, 300),
    "governance.tasks.signoff_write_back": (60, 90),
    "governance.tasks.evaluate_obligations": (540, 600),
    "governance.tasks.evaluate_project_obligations": (120, 180),
    "governance.tasks.expire_risk_acceptances": (240, 300),
    "governance.tasks.verify_audit_chain": (540, 600),
    "governance.tasks.sign_audit_checkpoint": (50, 60),
    "governance.tasks.check_model_references": (240, 300),
    "governance.tasks.apply_lineage": (280, 300),
    "governance.tasks.notify_event": (50, 60),
    "governance.tasks.deliver_notifications": (240, 300),
    "governance.tasks.send_reminders_and_digests": (540, 600),
    "governance.tasks.check_stale_signals": (240, 300),
} | {name: tuple(limits) for name, limits in env.json("KEEL_TASK_TIME_LIMITS", default={}).items()}
KEEL_TASK_TIME_LIMITS = {
    name: {"soft_time_limit": soft, "time_limit": hard} for name, (soft, hard) in _TASK_TIME_LIMITS.items()
}
# Queues per kind of work, so that machines can be given to one kind (deploy/keel.sh worker QUEUES):
# "registry" talks to model registries (syncs, sign-off write-back), "lineage" applies OpenLineage
# events, "celery" (the default) runs the heartbeat and the governance rules. A worker started without
# -Q consumes all three; /healthz counts the workers that consume "celery" (they run the heartbeat).
KEEL_TASK_QUEUES = ("celery", "registry", "lineage")
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {name: {"routing_key": name} for name in KEEL_TASK_QUEUES}
CELERY_TASK_ROUTES = {
    "projects.tasks.sync_registry": {"queue": "registry"},
    "projects.tasks.sync_due_registries": {"queue": "registry"},
    "governance.tasks.signoff_write_back": {"queue": "registry"},
    "governance.tasks.apply_lineage": {"queue": "lineage"},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The beat schedule lives in one place, config/celery.py; its intervals (seconds) are set here.
# How often beat schedules the heartbeat task (the worker's and beat's sign of life for /healthz).
KEEL_HEARTBEAT_SECONDS = env.int("KEEL_HEARTBEAT_SECONDS", default=15)
# How often beat looks for registries whose own sync interval has passed.
KEEL_SYNC_TICK_SECONDS = env.int("KEEL_SYNC_TICK_SECONDS", default=30)
# How often every project's compliance obligations are re-derived (events cover lineage changes).
KEEL_OBLIGATIONS_TICK_SECONDS = env.int("KEEL_OBLIGATIONS_TICK_SECONDS", default=3600)
# How often beat asks a worker to apply waiting lineage events: the safety net when a POST could not
# reach the broker (each POST asks for a run itself).
KEEL_LINEAGE_APPLY_TICK_SECONDS = env.int("KEEL_LINEAGE_APPLY_TICK_SECONDS", default=10)
# Apply a posted lineage event in the request itself (after storing it) instead of in a worker: for
# small installs without a worker, and the test suite. The answer then includes what it changed.
KEEL_LINEAGE_APPLY_INLINE = env.bool("KEEL_LINEAGE_APPLY_INLINE", default=False)
# At most this many waiting lineage events are applied per batch (one transaction, one audit event).
KEEL_LINEAGE_APPLY_BATCH = env.int("KEEL_LINEAGE_APPLY_BATCH", default=500)
# The worker lets a small batch (under half of KEEL_LINEAGE_APPLY_BATCH on SQLite, a quarter on PostgreSQL)
# wait up to this many seconds for more events while they keep arriving: each batch has a fixed cost.
# 0 applies whatever waits at once.
KEEL_LINEAGE_APPLY_GATHER_SECONDS = env.float("KEEL_LINEAGE_APPLY_GATHER_SECONDS", default=0.5)
# How often the expiry rule runs (approvals past their re-certification date become expired).
KEEL_SIGNOFF_EXPIRY_TICK_SECONDS = env.int("KEEL_SIGNOFF_EXPIRY_TICK_SECONDS", default=3600)
# How often beat checks for planned monitoring signals that stopped arriving (their frequency is per plan item).
KEEL_SIGNAL_STALE_TICK_SECONDS = env.int("KEEL_SIGNAL_STALE_TICK_SECONDS", default=900)
# Lineage naming a registry model version that no sync (or project link) lets Keel link within this many
# minutes opens a finding (the producer usually emits before the registry sync sees the new version).
KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES = env.int("KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES", default=60)
# /healthz calls a worker or beat dead when its last heartbeat is older than this.
KEEL_HEARTBEAT_STALE_SECONDS = env.int("KEEL_HEARTBEAT_STALE_SECONDS", default=90)

# --- Sign-off and the deployment gate ---------------------------------------------------------------
# The gate signs its answers with an Ed25519 key from the environment (PEM, or the base64 of the
# 32-byte seed); the embedded demo makes one under var/.
KEEL_GATE_SIGNING_KEY = os.environ.get("KEEL_GATE_SIGNING_KEY", "")
KEEL_GATE_SIGNING_KEY_FILE = env.str("KEEL_GATE_SIGNING_KEY_FILE", default=str(VAR_DIR / "gate-signing-key.pem"))
KEEL_GATE_TOKEN_TTL_SECONDS = env.int("KEEL_GATE_TOKEN_TTL_SECONDS", default=900)
# Environments whose deployments need a valid sign-off; the gate allows the others unless the tier is prohibited.
KEEL_GATE_APPROVAL_ENVIRONMENTS = env.list("KEEL_GATE_APPROVAL_ENVIRONMENTS", default=["production", "prod"])
# --- Audit checkpoints (offline-verifiable export) --------------------------------------------------
# The worker signs a checkpoint of the audit chain's head with this Ed25519 key (PEM, or the base64 of the
# 32-byte seed) every KEEL_AUDIT_CHECKPOINT_SECONDS, and export_audit signs one on demand; auditors verify
# exports with its public key. A key apart from the gate's, so either can be rotated alone; the embedded
# demo makes one under var/.
KEEL_AUDIT_SIGNING_KEY = os.environ.get("KEEL_AUDIT_SIGNING_KEY", "")
KEEL_AUDIT_SIGNING_KEY_FILE = env.str("KEEL_AUDIT_SIGNING_KEY_FILE", default=str(VAR_DIR / "audit-signing-key.pem"))
KEEL_AUDIT_CHECKPOINT_SECONDS = env.int("KEEL_AUDIT_CHECKPOINT_SECONDS", default=3600)
# A version holding one of these aliases (or the Production stage, or SageMaker's Approved status) is in production.
KEEL_PRODUCTION_ALIASES = env.list("KEEL_PRODUCTION_ALIASES", default=["production", "prod", "champion"])

# --- Mail -------------------------------------------------------------------------------------------
# Links in notification mail point here. Unset, it is the embedded server's own address (make run serves
# on 127.0.0.1:KEEL_PORT), so a link in a demo mail opens the Keel that sent it; set it behind a proxy.
KEEL_PORT = env.int("KEEL_PORT", default=8000)
KEEL_BASE_URL = env.str("KEEL_BASE_URL", default=f"http://127.0.0.1:{KEEL_PORT}").rstrip("/")
DEFAULT_FROM_EMAIL = env.str("KEEL_FROM_EMAIL", default="keel@localhost")
EMAIL_BACKEND = env.str(
    "KEEL_EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if EMBEDDED
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("KEEL_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("KEEL_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("KEEL_EMAIL_USER", default="")
EMAIL_HOST_PASSWORD = os.environ.get("KEEL_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env.bool("KEEL_EMAIL_USE_TLS", default=False)

# --- Embedded demo (make run) ----------------------------------------------------------------------
# scripts/run_embedded.sh starts a demo MLflow server on 127.0.0.1:KEEL_MLFLOW_PORT unless KEEL_DEMO_MLFLOW
# is 0/false/no/off (the same test as the script's), and seed_demo links a registry to it.
KEEL_DEMO_MLFLOW = env.str("KEEL_DEMO_MLFLOW", default="true").strip().lower() not in ("0", "false", "no", "off")
KEEL_MLFLOW_PORT = env.int("KEEL_MLFLOW_PORT", default=5055)

# Registries, findings, notifications, the ROI ledger.
from .domain_settings import *  # noqa: E402, F403

# --- Logging ----------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("KEEL_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
