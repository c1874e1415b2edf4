"""Native Shopify and WooCommerce webhooks (``loyalty/platforms/``), driven through the test client, signed.

- ``test_shopify``: Shopify's orders/paid and refunds/create, and how its payloads map onto orders and refunds.
- ``test_woocommerce``: WooCommerce's order topics (statuses, refunds listed on the order) and its ping.
- ``test_receive``: what both platforms share (``receive.py``): signatures, deduplication of deliveries, topics
  Klubb does not use, unknown or inactive shops, and bodies that are malformed or too large.
- ``support``: signing and posting a delivery as each platform does, and the payload files; ``conftest``: the
  fixtures every file here uses (a CSRF-enforcing client, the payloads, the ledger check after each test).
"""
