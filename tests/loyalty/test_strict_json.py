"""JSON as the standard says (issue 14, finding 6): NaN, Infinity, numbers too large for a float and nesting too
deep for the parser are refused as ``malformed_json`` (a 400, never a 500) by the API, and as malformed by the
platform webhooks, and nothing is written."""

from __future__ import annotations

import pytest

from loyalty.models import InboundWebhook, Order
from tests.loyalty.webhooks.support import shopify_post

pytestmark = pytest.mark.django_db

ORDER = b'{"order_id": "1", "member": {"email": "a@example.com"}, '
BAD_BODIES = {
    "NaN": ORDER + b'"amount": NaN}',
    "Infinity": ORDER + b'"amount": "1.00", "items": [{"quantity": Infinity}]}',
    "1e400": ORDER + b'"amount": "1.00", "items": [{"quantity": 1e400}]}',
    "nested": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("name", BAD_BODIES)
def test_the_api_refuses_json_python_would_take_as_malformed_json(api, shop, name):
    reply = api.post("/api/v1/orders/", BAD_BODIES[name], content_type="application/json")

    assert reply.status_code == 400, reply.content[:300]
    assert reply.json()["code"] == "malformed_json"
    assert not Order.objects.exists()


@pytest.mark.parametrize("name", ["NaN", "nested"])
def test_the_webhooks_refuse_it_too(client, shop, name):
    shop.shopify_webhook_secret = "shopify-secret"
    shop.save()

    reply = shopify_post(client, BAD_BODIES[name])

    assert reply.status_code < 500 and reply["Content-Type"].startswith("application/json")
    assert not Order.objects.exists()
    assert InboundWebhook.objects.filter(status=InboundWebhook.Status.PROCESSED).count() == 0
