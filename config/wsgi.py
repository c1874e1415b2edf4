"""The WSGI application gunicorn serves (``config.wsgi:application``).

Once Django, the URLconf and every view it imports are loaded, ``gc.freeze()`` moves those objects (about 140,000:
models, serializers, URL patterns, the schema's classes) out of the garbage collector's reach. They live as long as
the process anyway, and a full collection walked all of them while every thread of the worker waited on it: 40-75 ms
each, against 0.1-0.7 ms frozen (bench/RESULTS.md, issue 18), a pause that landed in the slowest requests.
"""

from __future__ import annotations

import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()
import_module(settings.ROOT_URLCONF)  # the views, serializers and services, loaded now to be frozen with the rest
gc.freeze()
