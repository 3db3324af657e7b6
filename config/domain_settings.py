"""Keel's domain settings (registries, findings, notifications, the ROI ledger), read from the environment
like the rest; config/settings.py imports them all. Apart only to keep each settings module readable."""

from __future__ import annotations

from decimal import Decimal

import environ

env = environ.Env()

# --- Model registries -------------------------------------------------------------------------------
KEEL_REGISTRY_CONNECT_TIMEOUT = env.float("KEEL_REGISTRY_CONNECT_TIMEOUT", default=3.05)
KEEL_REGISTRY_READ_TIMEOUT = env.float("KEEL_REGISTRY_READ_TIMEOUT", default=30.0)
# Versions per page of an MLflow sweep: the sync stores one page while the next is in flight.
KEEL_REGISTRY_PAGE_SIZE = max(1, env.int("KEEL_REGISTRY_PAGE_SIZE", default=500))
# A running sync older than this is taken to belong to a dead worker; keep it above the task time limit.
KEEL_SYNC_LOCK_TTL_SECONDS = env.int("KEEL_SYNC_LOCK_TTL_SECONDS", default=330)
# Retries of a sync after a transient fault: at most this many, after a random wait of up to
# backoff x 2^n seconds (capped at backoff_max), so a dead registry costs a bounded number of attempts.
KEEL_SYNC_MAX_RETRIES = env.int("KEEL_SYNC_MAX_RETRIES", default=4)
KEEL_SYNC_RETRY_BACKOFF = max(1, env.int("KEEL_SYNC_RETRY_BACKOFF", default=2))
KEEL_SYNC_RETRY_BACKOFF_MAX = max(1, env.int("KEEL_SYNC_RETRY_BACKOFF_MAX", default=120))
# The only environment variables a registry connection may name for its credentials.
KEEL_REGISTRY_ENV_PREFIXES = env.list("KEEL_REGISTRY_ENV_PREFIXES", default=["KEEL_REGISTRY_", "MLFLOW_", "AWS_"])

# --- Findings ---------------------------------------------------------------------------------------
# Days a finding has to be resolved in, by severity, counted from when it was opened (its due date).
# A severity missing from the variable keeps its default.
_FINDING_DUE_DAYS = {"critical": 7, "high": 14, "medium": 30, "low": 90}
KEEL_FINDING_DUE_DAYS = _FINDING_DUE_DAYS | {
    severity: int(days) for severity, days in env.dict("KEEL_FINDING_DUE_DAYS", default={}).items()
}

# --- Notifications ------------------------------------------------------------------------------
# Notifications (governance/notifications): what a person gets by e-mail for a kind they set no preference
# for ("immediately", "digest" or "off"); how often and how patiently a failed delivery is retried
# (after KEEL_NOTIFY_RETRY_SECONDS × 2^n, at most KEEL_NOTIFY_MAX_ATTEMPTS attempts); the chat webhook timeout;
# the hour (UTC) of the daily reminders and digests. KEEL_NOTIFY_DELIVER_INLINE sends in the committing
# process instead of the worker (the test suite only: in a request it would send from inside the request).
KEEL_NOTIFY_EMAIL_DEFAULT = env.str("KEEL_NOTIFY_EMAIL_DEFAULT", default="immediately")
KEEL_NOTIFY_RETRY_SECONDS = env.int("KEEL_NOTIFY_RETRY_SECONDS", default=60)
KEEL_NOTIFY_MAX_ATTEMPTS = env.int("KEEL_NOTIFY_MAX_ATTEMPTS", default=5)
KEEL_NOTIFY_TIMEOUT_SECONDS = env.int("KEEL_NOTIFY_TIMEOUT_SECONDS", default=10)
KEEL_NOTIFY_DIGEST_HOUR = env.int("KEEL_NOTIFY_DIGEST_HOUR", default=7)
# How often beat sends the deliveries that wait or failed and are due to be retried.
KEEL_NOTIFY_DELIVER_TICK_SECONDS = env.int("KEEL_NOTIFY_DELIVER_TICK_SECONDS", default=60)
KEEL_NOTIFY_DELIVER_INLINE = env.bool("KEEL_NOTIFY_DELIVER_INLINE", default=False)

# --- ROI ledger -------------------------------------------------------------------------------------
# Every ROI amount is converted into this currency with the FX rate of its currency and month.
KEEL_REPORTING_CURRENCY = env.str("KEEL_REPORTING_CURRENCY", default="EUR").upper()
# Annual rate for the NPV of a project's actual net value, discounted monthly from its first month.
KEEL_ROI_DISCOUNT_RATE = Decimal(env.str("KEEL_ROI_DISCOUNT_RATE", default="0.08"))
# Value decay: actual value below this share of planned value for this many consecutive months.
KEEL_VALUE_DECAY_SHARE = Decimal(env.str("KEEL_VALUE_DECAY_SHARE", default="0.8"))
KEEL_VALUE_DECAY_MONTHS = env.int("KEEL_VALUE_DECAY_MONTHS", default=3)
# Largest CSV/XLSX ROI import accepted, in bytes.
KEEL_ROI_IMPORT_MAX_BYTES = env.int("KEEL_ROI_IMPORT_MAX_BYTES", default=2 * 1024 * 1024)
# Every spreadsheet import (ROI entries, the data inventory), core/spreadsheets: the bytes an XLSX may
# unzip to (counted as they are inflated), the compression ratio of any part, the columns a value may be
# in, and the seconds reading may take. A 10,000-row ROI workbook unzips to about 5 MB.
KEEL_IMPORT_MAX_EXPANDED_BYTES = env.int("KEEL_IMPORT_MAX_EXPANDED_BYTES", default=16 * 1024 * 1024)
KEEL_IMPORT_MAX_RATIO = env.int("KEEL_IMPORT_MAX_RATIO", default=100)
KEEL_IMPORT_MAX_COLUMNS = env.int("KEEL_IMPORT_MAX_COLUMNS", default=50)
KEEL_IMPORT_MAX_SECONDS = env.float("KEEL_IMPORT_MAX_SECONDS", default=10.0)
