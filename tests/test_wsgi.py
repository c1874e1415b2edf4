"""The served application: what ``config.wsgi`` does beyond Django's own ``get_wsgi_application``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_served_application_is_loaded_whole_and_kept_out_of_the_garbage_collectors_way():
    """Everything loaded at start (Django, the URLconf and every view it imports) is frozen, so a full collection
    in a serving worker walks only what requests made, not the whole application. In a process of its own: the
    freeze lasts for the life of the process."""
    probe = (
        "import gc, sys, config.wsgi; "
        "print(gc.get_freeze_count(), 'loyalty.api.orders' in sys.modules, len(gc.get_objects()))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    frozen, views_loaded, tracked = done.stdout.split()
    assert views_loaded == "True"  # the URLconf's views were imported before the freeze
    assert int(frozen) > 50_000 and int(tracked) < int(frozen) // 10
