"""Rate limits counted in fixed windows: one cache counter per client and window.

DRF's ``SimpleRateThrottle`` keeps, per client, the list of its request times in the last period, and reads,
trims and writes back (pickled) that whole list on every request. Its cost grows with the limit: a shop
allowed 10,000 requests a minute that uses them has a list of 10,000 times read and written on each of its
requests. Here a request costs one atomic ``incr`` of the window's counter (``add`` once per window),
whatever the limit. The price is the fixed window's: a client may send up to twice its limit across the
boundary of two windows (the end of one and the start of the next), which for a limit that protects the
server from runaway integrations is fine.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class FixedWindowRateThrottle(SimpleRateThrottle):
    """``SimpleRateThrottle``'s rates, cache and keys (subclasses give ``scope``, ``get_rate`` and
    ``get_cache_key``), counted per fixed window of the rate's period."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        counter = f"{key}:{window}"
        # ``add`` starts the window's counter only if no other request has; ``incr`` is atomic in Redis and
        # in the local-memory cache alike. The counter outlives its window by a period, then expires.
        self.cache.add(counter, 0, timeout=2 * self.duration)
        try:
            count = self.cache.incr(counter)
        except ValueError:  # expired between the two calls: this request opens the window again
            self.cache.add(counter, 1, timeout=2 * self.duration)
            count = 1
        return count <= self.num_requests or self.throttle_failure()

    def wait(self) -> float:
        """Seconds until the current window ends (the ``Retry-After`` header)."""
        return max(self.window_ends - self.now, 1.0)
