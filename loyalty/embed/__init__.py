"""The storefront widget's endpoints, under ``/embed/v1/``: what the snippet in a shop's theme reads and does.

- ``views``: the script itself (``klubb.js``), the club's public face for visitors (``config``), the exchange of a
  page's signed customer identity for a member token (``session``), the member's summary (``me``), "earn N
  points" badges (``badges``) and points reserved for the checkout (``redemptions``).
- ``summary``: what the widget shows, composed from the selectors; a member's summary is kept in the cache under
  the state it is made from (read in one query), so most page views cost that one query.
- ``cors``: which origins may call a storefront's endpoints (django-cors-headers asks it).

The shop's publishable key is in every path, so that the browser's CORS preflight already names the shop.
"""
