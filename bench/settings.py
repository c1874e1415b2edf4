"""Production settings plus the bare endpoint of ``bench/api_load.py`` (``bench/urls.py``); nothing else changes."""

from __future__ import annotations

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
