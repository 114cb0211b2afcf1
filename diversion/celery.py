"""The Celery app: the worker and beat both start from here (`celery -A diversion ...`)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diversion.settings")

app = Celery("diversion")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
