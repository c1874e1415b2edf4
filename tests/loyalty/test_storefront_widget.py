"""The storefront widget's script and its demo storefront: the committed ``static/embed/klubb.js`` is small and a
fresh build of ``frontend/embed/src``; ``/demo/storefront/`` (DEBUG or KLUBB_DEMO_STOREFRONT only) renders a
theme's snippet and Kari's identity signed as a real theme signs it, on another origin than Klubb's, and
``seed_demo`` lets that origin call the demo shop's storefront at the port ``make run`` serves on."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from loyalty.embed.demo import DEMO_EMAIL, PRODUCTS
from loyalty.models import Storefront
from loyalty.shops.storefront import storefront_create
from tests.conftest import make_order

BASE = Path(django_settings.BASE_DIR)
BUILT = BASE / "static" / "embed" / "klubb.js"
SOURCES = BASE / "frontend" / "embed"
GZIP_LIMIT = 30 * 1024


def test_the_committed_widget_is_under_30_kb_gzipped():
    size = len(gzip.compress(BUILT.read_bytes(), compresslevel=9))
    assert size < GZIP_LIMIT, f"static/embed/klubb.js is {size} bytes gzipped, over the {GZIP_LIMIT} the issue allows"


def test_the_committed_widget_is_a_fresh_build_of_its_sources(tmp_path):
    node, npm = shutil.which("node"), shutil.which("npm")
    # Never skipped: a checkout without them could not rebuild the widget either (the Makefile's `embed` needs them).
    assert node and npm, "node and npm are missing: the widget's build check needs them (`make embed` builds)"
    if not (SOURCES / "node_modules" / "esbuild").is_dir():
        install = [npm, "ci", "--no-audit", "--no-fund"]
        subprocess.run(install, cwd=SOURCES, check=True, capture_output=True, timeout=600)
    fresh = tmp_path / "klubb.js"
    subprocess.run([node, "build.mjs", str(fresh)], cwd=SOURCES, check=True, capture_output=True, timeout=120)
    assert fresh.read_bytes() == BUILT.read_bytes(), (
        "static/embed/klubb.js is not the build of frontend/embed/src: run `make embed` and commit the result"
    )


def test_the_widgets_build_tool_is_pinned_to_one_version():
    package = json.loads((SOURCES / "package.json").read_text())
    lock = json.loads((SOURCES / "package-lock.json").read_text())
    version = package["devDependencies"]["esbuild"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin esbuild to an exact version"
    assert lock["packages"]["node_modules/esbuild"]["version"] == version


@pytest.fixture
def demo(settings, shop, tiers, programme):
    """The demo storefront switched on, for the shop seed_demo would make (slug nordlys-sport), and Kari."""
    settings.KLUBB_DEMO_STOREFRONT = True
    make_order(shop, order_id="K-1", amount="1200.00", email=DEMO_EMAIL, first_name="Kari")
    return storefront_create(shop=shop, allowed_origins="http://localhost:8000").storefront


def identity_in(html: str) -> dict | None:
    match = re.search(r'<script id="klubb-customer" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1)) if match else None


@pytest.mark.django_db
def test_the_demo_storefront_is_off_without_debug_or_its_setting(client, demo, settings):
    settings.KLUBB_DEMO_STOREFRONT = False
    assert client.get("/demo/storefront/").status_code == 404
    settings.DEBUG = True
    assert client.get("/demo/storefront/", HTTP_HOST="localhost:8000").status_code == 200


@pytest.mark.django_db
def test_the_demo_signs_kari_as_a_theme_would_and_klubb_accepts_it(client, demo):
    page = client.get("/demo/storefront/?as=kari", HTTP_HOST="localhost:8000")

    html = page.content.decode()
    identity = identity_in(html)
    assert identity["email"] == DEMO_EMAIL and set(identity) == {"customer_id", "email", "timestamp", "signature"}
    session = client.post(f"/embed/v1/{demo.publishable_key}/session/", identity, content_type="application/json")
    assert session.status_code == 200 and session.json()["member"] is True
    # The snippet loads Klubb from the machine's other name: the page and the widget are two origins.
    snippet = f'<script src="http://127.0.0.1:8000/embed/v1/klubb.js" data-klubb-shop="{demo.publishable_key}" async>'
    assert snippet in html
    policy = page.headers["Content-Security-Policy"]
    assert re.search(r"script-src 'self'[^;]* http://127\.0\.0\.1:8000", policy)
    assert re.search(r"connect-src 'self'[^;]* http://127\.0\.0\.1:8000", policy)
    assert "frame-ancestors 'none'" in policy and "style-src-elem 'self'" in policy  # otherwise as strict as ever


@pytest.mark.django_db
def test_the_demo_shows_products_with_badges_and_a_visitor_without_identity(client, demo):
    html = client.get("/demo/storefront/?as=visitor&lang=nb", HTTP_HOST="localhost:8000").content.decode()

    assert identity_in(html) is None
    assert '<html lang="nb">' in html
    for product in PRODUCTS:
        badge = (
            f'data-klubb-points-for="{product.price}" data-klubb-category="{product.category}" '
            f'data-klubb-sku="{product.sku}"'
        )
        assert badge in html


@pytest.mark.django_db
def test_the_demo_opened_at_klubbs_own_name_loads_klubb_from_the_other(client, demo):
    html = client.get("/demo/storefront/", HTTP_HOST="127.0.0.1:8001").content.decode()
    assert 'src="http://localhost:8001/embed/v1/klubb.js"' in html


@pytest.mark.django_db
def test_the_demo_without_its_storefront_says_how_to_make_it(client, demo, settings):
    Storefront.objects.all().delete()
    response = client.get("/demo/storefront/", HTTP_HOST="localhost:8000")
    assert response.status_code == 404 and "seed_demo" in response.content.decode()


@pytest.mark.django_db
def test_seed_demo_lets_the_demo_storefront_call_klubb_at_the_port_it_serves_on(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--no-history", "--port", "8123", stdout=io.StringIO())
    call_command("seed_demo", "--no-history", "--port", "8123", stdout=io.StringIO())
    call_command("seed_demo", "--no-history", "--port", "9000", stdout=io.StringIO())

    storefront = Storefront.objects.get(shop__slug="nordlys-sport")
    assert storefront.allowed_origins.splitlines() == [
        "http://localhost:8123",
        "http://127.0.0.1:8123",
        "http://localhost:9000",
        "http://127.0.0.1:9000",
    ]


def test_the_banner_prints_the_demo_storefront_on_the_other_name():
    out = io.StringIO()
    call_command("demo_banner", "--host", "127.0.0.1", "--port", "8123", stdout=out)
    assert "http://localhost:8123/demo/storefront/" in out.getvalue()
