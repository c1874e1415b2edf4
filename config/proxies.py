"""Who sent a request: the client's address, read through the proxies the site trusts.

Behind a TLS-terminating proxy every request arrives from the proxy's address (``REMOTE_ADDR``), and the
client's address is in ``X-Forwarded-For``, where each proxy appends the address it received the request
from. Anything left of what our own proxies wrote came from the client and may be forged, so only
``TRUSTED_PROXY_COUNT`` hops are believed, counted from the right:

- ``0`` (the default, no proxy): ``REMOTE_ADDR``; ``X-Forwarded-For`` is ignored.
- ``1`` (one proxy, as README's *Production* describes): the right-most entry, the address the proxy saw.
- ``n``: the n-th entry from the right, the address the outermost of our n proxies saw.

A request with fewer entries than that did not come through all our proxies: it gets ``REMOTE_ADDR``, never
an entry the client could have written. Every place that wants the client's address calls ``client_ip``:
allauth's rate limits (``members.auth.AccountAdapter``), the referral rules and the consent proofs.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client that sent ``request`` (normalised), or ``None`` if it has none."""
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < trusted:
        return remote
    return _address(hops[-trusted]) or remote


def _address(value: str) -> str | None:
    """``value`` as a normalised IP address (a port, as some proxies add one, left off), else ``None``."""
    value = value.strip()
    candidates = [value]
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        candidates.append(value[1 : value.index("]")])
    elif value.count(":") == 1:  # 203.0.113.7:51234
        candidates.append(value.partition(":")[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
