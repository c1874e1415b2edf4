"""The README's WooCommerce recipe, run as written: its PHP snippet (between the ``woocommerce-snippet`` markers in
README.md) signs a signed-in customer with Debian's PHP, and Klubb's verifier accepts what it renders, and refuses
it under another secret. ``make test`` installs php-cli (``make php``); without it this test fails, never skips."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from loyalty.shops.storefront import storefront_create
from tests.conftest import make_order

pytestmark = pytest.mark.django_db

PHP = os.environ.get("KLUBB_PHP", "/usr/bin/php")
README = Path(settings.BASE_DIR) / "README.md"

# Just enough of WordPress and WooCommerce for the snippet; the hooks it adds are then run as WordPress would.
WORDPRESS = r"""<?php
$GLOBALS['klubb_hooks'] = array();
function add_action($hook, $callback, $priority = 10) { $GLOBALS['klubb_hooks'][$hook][] = $callback; }
function is_user_logged_in() { return getenv('KLUBB_TEST_SIGNED_IN') === '1'; }
function wp_get_current_user() { return (object) array('ID' => 7001, 'user_email' => 'kari@example.com'); }
function wp_json_encode($data, $options = 0) { return json_encode($data, $options); }
function esc_url($url) { return $url; }
function esc_attr($text) { return htmlspecialchars((string) $text, ENT_QUOTES); }
function wc_get_price_to_display($product) { return $product->price; }
function wc_format_decimal($number, $decimals) { return number_format((float) $number, $decimals, '.', ''); }
class KlubbTestProduct { public $price = 1249; public function get_sku() { return 'SHOE-1'; } }
define('KLUBB_STOREFRONT_SECRET', getenv('KLUBB_TEST_SECRET'));
"""
RUN_HOOKS = r"""
foreach ($GLOBALS['klubb_hooks']['wp_head'] as $hook) { $hook(); }
$product = new KlubbTestProduct();
foreach ($GLOBALS['klubb_hooks']['woocommerce_single_product_summary'] as $hook) { $hook(); }
"""


def readme_snippet() -> str:
    text = README.read_text()
    found = re.search(
        r"<!-- woocommerce-snippet:start -->\s*```php\n(?P<code>.*?)```\s*<!-- woocommerce-snippet:end -->", text, re.S
    )
    assert found, "README.md has lost its WooCommerce snippet (between the woocommerce-snippet markers)"
    return found["code"]


def render_with_php(tmp_path: Path, *, secret: str, signed_in: bool = True) -> str:
    if not os.path.exists(PHP):
        pytest.fail(f"{PHP} is missing: `make test` installs Debian's php-cli (`make php`) to run the README's snippet")
    script = tmp_path / "theme.php"
    script.write_text(WORDPRESS + readme_snippet() + RUN_HOOKS)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KLUBB_TEST_SECRET": secret,
        "KLUBB_TEST_SIGNED_IN": "1" if signed_in else "",
    }
    done = subprocess.run([PHP, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stdout + done.stderr
    return done.stdout


def rendered_identity(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="klubb-customer">(.*?)</script>', html, re.S)
    assert found, html
    return json.loads(found.group(1))


@pytest.fixture
def storefront(shop, tiers, programme):
    make_order(shop, order_id="K-1", amount="1200.00", email="kari@example.com", first_name="Kari", external_id="7001")
    return storefront_create(shop=shop, allowed_origins="https://www.nordlys.example").storefront


def test_the_readmes_woocommerce_snippet_signs_a_customer_klubb_accepts(client, storefront, tmp_path):
    html = render_with_php(tmp_path, secret=storefront.secret)

    identity = rendered_identity(html)
    assert identity["customer_id"] == "7001" and identity["email"] == "kari@example.com"
    response = client.post(
        f"/embed/v1/{storefront.publishable_key}/session/", identity, content_type="application/json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["member"] is True
    assert '<script src="https://klubb.example.com/embed/v1/klubb.js" data-klubb-shop="kpk_…" async></script>' in html
    assert '<div data-klubb-points-for="1249.00" data-klubb-sku="SHOE-1"></div>' in html


def test_what_the_snippet_signs_with_another_secret_is_refused(client, storefront, tmp_path):
    identity = rendered_identity(render_with_php(tmp_path, secret="kss_not-this-shops-secret"))

    response = client.post(
        f"/embed/v1/{storefront.publishable_key}/session/", identity, content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (401, "identity_invalid")


def test_the_snippet_renders_no_identity_for_a_visitor(storefront, tmp_path):
    html = render_with_php(tmp_path, secret=storefront.secret, signed_in=False)
    assert "klubb-customer" not in html and "embed/v1/klubb.js" in html
