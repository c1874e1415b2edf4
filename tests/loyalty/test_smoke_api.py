from __future__ import annotations

import pytest

from tests.conftest import order_payload

pytestmark = pytest.mark.django_db


def test_order_over_api_awards_points(api, tiers, programme):
    response = api.post("/api/v1/orders/", order_payload(amount="1200.50"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["points_awarded"] == 1200
    assert body["balance"] == 1200
    assert body["tier"] == "Silver"
