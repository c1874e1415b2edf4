"""The staff side of the points engine.

- ``admin/``: the ModelAdmins, one module per concept (registered through ``loyalty/admin.py``, Django's
  autodiscovery entry), and the points part of the member admin.
- ``dashboard/``: the programme dashboard's figures and tables (flow, health, accounting), cached per period.
- ``charts``: the dashboard's server-side SVG charts.
- ``views``: staff pages outside the ModelAdmins (the dashboard page and its CSV downloads).
- ``forms``: the forms of the staff pages (adjust points, preview earning rules, message a segment).

Nothing is imported here: importing ``loyalty.staff.admin`` registers ModelAdmins, so each module is imported
by its own path where it is used.
"""
