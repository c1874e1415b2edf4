"""The Celery application.

Configured from Django settings (the ``CELERY_`` namespace). Without ``CELERY_BROKER_URL`` the
settings switch tasks to run in-process (eager), so the demo needs no broker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("klubb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
