"""Django's admin autodiscovery entry for the points engine.

The ModelAdmins live in ``loyalty/staff/admin/``, one module per concept; importing that package registers them.
The admin stays thin: it lists, searches and shows, and points move only through services.
"""

from __future__ import annotations

from loyalty.staff import admin as staff_admin

__all__ = ["staff_admin"]
