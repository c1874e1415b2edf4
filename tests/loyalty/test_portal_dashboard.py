from __future__ import annotations

import pytest

from tests.conftest import make_order

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_invited_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/accounts/login/"' in response.content


def test_member_sees_balance_tier_and_progress(client, shop, tiers, programme):
    make_order(shop, order_id="1", amount="3750.00")
    from members.models import Member

    member = Member.objects.get()
    client.force_login(member.user)
    response = client.get("/")
    html = response.content.decode()
    assert "3,750" in html or "3750" in html
    assert "Silver" in html
    assert 'role="progressbar"' in html
    assert 'aria-valuenow="68"' in html
    assert "1,250 points to Gold" in html or "1250 points to Gold" in html
    assert "Order 1 at Nordlys Sport" in html
