"""Input a shop's data should never hold (issue 14, finding 6): a minus sign on an amount, even on zero, a time
without a time zone, a date before 2000. Each is a 400 naming its field, and nothing is written."""

from __future__ import annotations

import pytest
from django.utils import timezone

from loyalty.models import Order
from tests.conftest import order_payload
from tests.loyalty.webhooks.support import load, woo_post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"amount": "-0.00"}, "min_value", "amount"),
        ({"tax": "-0.00"}, "min_value", "tax"),
        ({"occurred_at": "2026-11-20T14:03:00"}, "naive", "occurred_at"),
        ({"occurred_at": "0001-01-01T00:00:00Z"}, "too_early", "occurred_at"),
        ({"occurred_at": "1970-01-01T00:00:00Z"}, "too_early", "occurred_at"),
        ({"occurred_at": "2024-01-01T12:99:00Z"}, "invalid", "occurred_at"),  # no such minute: was a 500
        ({"occurred_at": "2024-02-30T12:00:00"}, "invalid", "occurred_at"),
    ],
)
def test_the_order_is_refused_naming_the_field(api, shop, tiers, programme, change, code, field):
    reply = api.post("/api/v1/orders/", order_payload() | change, format="json")

    assert reply.status_code == 400, reply.json()
    assert (reply.json()["code"], reply.json()["field"]) == (code, field)
    assert not Order.objects.exists()


def test_a_time_with_its_zone_and_zero_amounts_are_fine(api, shop, tiers, programme):
    reply = api.post(
        "/api/v1/orders/", order_payload(amount="0.00") | {"occurred_at": "2026-11-20T13:03:00Z"}, format="json"
    )

    assert reply.status_code == 201, reply.json()


def test_a_woocommerce_order_with_only_its_local_time_is_read_in_the_clubs_zone(client, shop, tiers, programme):
    order = load("woocommerce_order.json")
    order.pop("date_created_gmt", None)
    order["date_created"] = "2026-11-20T14:03:00"

    response = woo_post(client, order)

    assert response.status_code == 200 and response.json()["status"] == "processed", response.json()
    recorded = Order.objects.get()
    assert timezone.localtime(recorded.occurred_at).replace(tzinfo=None).isoformat() == "2026-11-20T14:03:00"
