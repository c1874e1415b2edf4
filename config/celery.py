"""The Celery application.

Configured from Django settings (the ``CELERY_`` namespace). Without ``CELERY_BROKER_URL`` the
settings switch tasks to run in-process (eager), so the demo needs no broker.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("klubb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every task is idempotent, so one that met a passing fault (the database restarting, a dropped connection)
# is simply run again: after about 10 s, 20 s, 40 s ... at most 10 minutes apart, 6 times, then it fails
# and the next scheduled run (or the sweep behind it) picks the work up.
RETRY_TRANSIENT: dict[str, Any] = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 10,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 6,
}
