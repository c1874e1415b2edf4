"""The staff dashboard's figures: aggregate queries only, so the page costs the same for 10 or 10 million members.

Every figure is for a period ``[start, end)`` and the one just before it of the same length. Counts by the time
things happened (orders by ``occurred_at``, points by when their order or refund happened, members by
``enrolled_at``). Money is never added across currencies. Outstanding points are the balances at the period's end,
valued at the programme's ``point_value`` in the programme's currency.

- ``types``: ``Period``, ``Figure``, ``Table``, ``Accounting`` and ``Dashboard``.
- ``flow``: the period's figures, members over time, points issued, redeemed and expired over time.
- ``health``: customer value per tier, how members buy, reward popularity, cohort retention, tier tables.
- ``accounting``: the liability, the breakage rate from the programme's history, the deferred revenue.
- ``returns``: of the period's orders, what came back and why, per product, category, reason and currency.
- ``build``: ``dashboard_build`` (all of it, in a fixed number of queries, with the replenishment reminders' results
  from ``loyalty.replenishment``) and ``dashboard_cached``.

Exports ``Period``, ``Dashboard``, ``dashboard_build``, ``dashboard_cached`` and ``CACHE_SECONDS``.
"""

from __future__ import annotations

from loyalty.staff.dashboard.build import CACHE_SECONDS, dashboard_build, dashboard_cached
from loyalty.staff.dashboard.types import Accounting, Dashboard, Figure, Period, Table

__all__ = [
    "CACHE_SECONDS",
    "Accounting",
    "Dashboard",
    "Figure",
    "Period",
    "Table",
    "dashboard_build",
    "dashboard_cached",
]
