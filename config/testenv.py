"""pytest plugin (`-p config.testenv` in pyproject.toml) that runs before Django settings load.

Tests run in the embedded mode unless the caller says otherwise, so a bare `pytest` works the same
as `make test`; CI sets DATABASE_URL/REDIS_URL/CI itself.
"""

import os

os.environ.setdefault("KEEL_EMBEDDED", "true")
# Static files are served by finders in tests; the manifest storage needs collectstatic first.
os.environ.setdefault("KEEL_STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
