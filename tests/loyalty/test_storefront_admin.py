"""The storefront widget in the admin: a programme manager sets origins and looks; the storefront secret is made
by Klubb and shown once; rotating the secret or the publishable key stops the old one."""

from __future__ import annotations

import re
import time

import pytest

from loyalty.models import Storefront
from loyalty.roles import PROGRAMME_MANAGER, SUPPORT
from loyalty.shops.storefront import identity_signature, storefront_create
from tests.loyalty.test_staff_control import staff_client, url

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"kss_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def manager():
    return staff_client(PROGRAMME_MANAGER, "manager@example.com")[0]


def signed(storefront: Storefront, secret: str) -> dict:
    timestamp = int(time.time())
    signature = identity_signature(secret=secret, customer_id="1", email="kari@example.com", timestamp=timestamp)
    return {"customer_id": "1", "email": "kari@example.com", "timestamp": timestamp, "signature": signature}


def test_a_manager_sets_up_the_widget_and_sees_the_secret_once(manager, shop, client):
    form = {"shop": shop.pk, "allowed_origins": "https://www.nordlys.example", "accent_colour": "#224466",
            "position": "bottom-left", "join_url": "", "login_url": "", "is_active": "on"}  # fmt: skip

    response = manager.post(url("loyalty_storefront_add"), form, follow=True)

    shown = [str(m) for m in response.context["messages"] if SECRET.search(str(m))]
    assert len(shown) == 1 and "will not be shown again" in shown[0]
    secret = SECRET.search(shown[0]).group(0)
    storefront = Storefront.objects.get()
    assert (storefront.accent_colour, storefront.position, storefront.origins) == (
        "#224466",
        "bottom-left",
        {"https://www.nordlys.example"},
    )
    assert storefront.secret == secret and storefront.publishable_key.startswith("kpk_")
    page = manager.get(url("loyalty_storefront_change", storefront.pk)).content.decode()
    assert secret not in page
    assert storefront.publishable_key in page and "/embed/v1/klubb.js" in page  # the theme's snippet


def test_staff_cannot_type_or_read_the_secret_or_the_key(manager, shop):
    storefront = storefront_create(shop=shop).storefront
    form = manager.get(url("loyalty_storefront_change", storefront.pk)).context["adminform"].form
    assert not {"secret", "publishable_key"} & set(form.fields)


def test_rotating_the_secret_shows_the_new_one_once_and_refuses_the_old(manager, shop, client):
    storefront = storefront_create(shop=shop).storefront
    old = storefront.secret

    response = manager.post(
        url("loyalty_storefront_changelist"),
        {"action": "rotate_secret", "_selected_action": [storefront.pk]},
        follow=True,
    )

    new = SECRET.search(" ".join(str(m) for m in response.context["messages"])).group(0)
    storefront.refresh_from_db()
    assert new == storefront.secret != old
    path = f"/embed/v1/{storefront.publishable_key}/session/"
    assert client.post(path, signed(storefront, old), content_type="application/json").status_code == 401


def test_rotating_the_publishable_key_stops_the_old_snippet(manager, shop, client):
    storefront = storefront_create(shop=shop).storefront
    old = storefront.publishable_key

    manager.post(
        url("loyalty_storefront_changelist"), {"action": "rotate_publishable_key", "_selected_action": [storefront.pk]}
    )

    storefront.refresh_from_db()
    assert storefront.publishable_key != old
    assert client.get(f"/embed/v1/{old}/config/").status_code == 404
    assert client.get(f"/embed/v1/{storefront.publishable_key}/config/").status_code == 200


def test_support_cannot_change_the_widget(shop):
    support = staff_client(SUPPORT, "support@example.com")[0]
    storefront = storefront_create(shop=shop).storefront
    assert support.get(url("loyalty_storefront_change", storefront.pk)).status_code == 403
