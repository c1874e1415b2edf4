"""Which sites may call a storefront's endpoints from the browser: the origins staff list on its storefront.

django-cors-headers asks ``origin_allowed`` (its ``check_request_enabled`` signal) for every request under
``CORS_URLS_REGEX`` (``/embed/v1/``); an origin no storefront lists gets no CORS headers, so the browser keeps
the answer from the page. Every other path answers no site at all.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest

from loyalty.shops.storefront import storefront_by_key

_KEY_IN_PATH = re.compile(r"^/embed/v1/(?P<key>[A-Za-z0-9_-]+)/")


def origin_allowed(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    match = _KEY_IN_PATH.match(request.path)
    origin = request.headers.get("Origin", "").rstrip("/")
    if match is None or not origin:
        return False
    storefront = storefront_by_key(publishable_key=match["key"])
    return storefront is not None and origin in storefront.origins
