"""Settings the benchmark measures under: the application's, as the test suite changes them.

As tests/conftest.py: no lockout (django-axes) and no second factor, since pages are opened
with force_login; plain HTTP (no redirect to HTTPS, no HSTS, cookies over HTTP); static files
served unhashed, as collectstatic has not run. DEBUG stays off. BENCH_DATABASE, when set,
names the database to use on the configured server (a worker process per database).
"""

from __future__ import annotations

import os
import warnings

from diversion.settings import *  # noqa: F403
from diversion.settings import DATABASES, STORAGES

ROOT_URLCONF = "scripts.bench.urls"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

AXES_ENABLED = False
TWO_FACTOR_ROLES: tuple[str, ...] = ()
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
# The idle timeout would sign the measured users out while the sweep and retention run; how
# long a session lives changes nothing that is measured.
SESSION_COOKIE_AGE = 24 * 60 * 60
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if os.environ.get("BENCH_DATABASE"):
    DATABASES["default"]["NAME"] = os.environ["BENCH_DATABASE"]

# WhiteNoise looks for collected files; static files are served from static/ instead.
warnings.filterwarnings("ignore", "No directory at", UserWarning)
