"""The README's Shopify and WooCommerce webhook examples, run as written (bash, openssl, curl) against a live
server: the signature they make is the one Klubb checks, and the orders earn what the README says."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from loyalty.api import urls as loyalty_api_urls
from loyalty.models import LedgerEntry, Order
from referrals import urls_api as referrals_api_urls
from tests.factories import ShopFactory

README = Path(settings.BASE_DIR) / "README.md"


@pytest.fixture(autouse=True)
def _tools() -> None:
    # Never skipped: the README tells shops to run these commands, so the machine that checks them has them.
    assert shutil.which("curl") and shutil.which("openssl"), "the README's webhook examples need curl and openssl"


def example(name: str) -> str:
    text = README.read_text()
    found = re.search(rf"<!-- webhook-example:{name} -->\s*```bash\n(.*?)```\s*<!-- /webhook-example:{name} -->", text,
                      re.DOTALL)  # fmt: skip
    assert found, f"README.md has lost its {name} webhook example"
    return found.group(1)


def run(script: str, *, live_server, tmp_path: Path) -> str:
    script = script.replace("http://127.0.0.1:8000", live_server.url)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    return done.stdout


@pytest.fixture
def demo_shop(transactional_db, tiers, programme):
    return ShopFactory(
        name="Nordlys Sport", slug="nordlys-sport",
        shopify_webhook_secret="demo-webhook-secret", woocommerce_webhook_secret="demo-webhook-secret",
    )  # fmt: skip


def test_the_readmes_shopify_example_is_signed_right_and_earns(live_server, demo_shop, tmp_path):
    run(example("shopify"), live_server=live_server, tmp_path=tmp_path)
    entry = LedgerEntry.objects.get(order__shop=demo_shop)
    assert (entry.member.user.email, entry.points) == ("nora@example.com", 1499)
    run(example("shopify"), live_server=live_server, tmp_path=tmp_path)  # the same delivery again
    assert LedgerEntry.objects.filter(order__shop=demo_shop).count() == 1


def test_the_readmes_woocommerce_example_is_signed_right_and_earns(live_server, demo_shop, tmp_path):
    run(example("woocommerce"), live_server=live_server, tmp_path=tmp_path)
    order = Order.objects.get(shop=demo_shop)
    assert order.member.user.email == "erik@example.com"
    assert LedgerEntry.objects.get(order=order).points == 1000


def test_a_readme_example_signed_with_another_secret_is_refused(live_server, demo_shop, tmp_path):
    script = example("shopify").replace('-hmac "demo-webhook-secret"', '-hmac "not-the-secret"')
    script = script.replace("curl -s ", "curl -s -o /dev/null -w '%{http_code}' ")
    assert run(script, live_server=live_server, tmp_path=tmp_path) == "401"
    assert not Order.objects.exists()


def test_the_readme_names_every_shop_api_operation():
    """Every route of the shop API (``loyalty.api.urls``, ``referrals.urls_api``) is in the README's tables."""
    text = README.read_text()
    routes = [
        str(pattern.pattern) for module in (loyalty_api_urls, referrals_api_urls) for pattern in module.urlpatterns
    ]
    missing = [route for route in routes if "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route) not in text]
    assert not missing, missing
