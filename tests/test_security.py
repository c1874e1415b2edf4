"""Hardening: security headers and the Content-Security-Policy, API rate limits and body limits, login lockout,
and secrets that never show up in logs, error bodies or the admin after they were created."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from loyalty.models import Reward, Shop, WebhookSubscription
from loyalty.rewards.catalogue import reward_redeem
from loyalty.shops import api_key_create
from members.models import Member
from tests.conftest import make_order, order_payload

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.fixture
def member_with_voucher(shop, tiers, programme):
    make_order(shop, order_id="S-1", amount="900.00", email="anna@example.com", first_name="Anna")
    anna = Member.objects.select_related("user").get(user__email="anna@example.com")
    voucher = reward_redeem(member=anna, reward=Reward.objects.create(name="Mug", points_cost=100))
    return anna, voucher


def csp_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict_page(url: str, response) -> None:
    """The page has a CSP that allows scripts only from the site (or with this response's nonce), and obeys it."""
    assert response.status_code in (200, 404), (url, response.status_code)
    csp = csp_of(response)
    assert csp, f"{url}: no Content-Security-Policy"
    script_src = csp["script-src"]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, url
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"], url
    assert csp["default-src"] == ["'self'"], url
    assert response.headers["X-Content-Type-Options"] == "nosniff", url
    assert response.headers["X-Frame-Options"] == "DENY", url
    assert response.headers["Referrer-Policy"] == "same-origin", url
    assert "camera=()" in response.headers["Permissions-Policy"], url
    body = response.content.decode()
    nonces = [f"'nonce-{n}'" for n in re.findall(r"<script[^>]*\bnonce=\"([^\"]+)\"", body)]
    inline = [tag for tag in INLINE_SCRIPT.findall(body) if "nonce=" not in tag]
    assert not inline, f"{url}: inline script without a nonce: {inline}"
    for nonce in nonces:
        assert nonce in script_src, f"{url}: script nonce {nonce} not in the policy"
    assert not EVENT_HANDLER.findall(body), f"{url}: inline event handler attribute: {EVENT_HANDLER.findall(body)}"
    assert "<style" not in body, f"{url}: a <style> element (style-src-elem is 'self' only)"


def test_every_portal_and_sign_in_page_has_a_strict_content_security_policy(client, member_with_voucher):
    anna, voucher = member_with_voucher
    public = [
        reverse("portal:home"),
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
        reverse("account_request_login_code"),
        "/r/UNKNOWN9/",
        "/no-such-page/",
        reverse("api-docs"),
    ]
    for url in public:
        assert_strict_page(url, client.get(url))
    client.force_login(anna.user)
    portal = [
        reverse("portal:home"),
        reverse("portal:activity"),
        reverse("portal:rewards"),
        reverse("portal:reward", args=[voucher.reward_id]),
        reverse("portal:vouchers"),
        reverse("portal:voucher", args=[voucher.code]),
        reverse("portal:invite"),
        reverse("portal:profile"),
        reverse("portal:consents"),
        reverse("portal:privacy"),
        reverse("account_email"),
        reverse("account_set_password"),
        reverse("mfa_index"),
    ]
    for url in portal:
        assert_strict_page(url, client.get(url))


def test_the_admin_has_a_strict_content_security_policy(admin_client, member_with_voucher):
    anna, _voucher = member_with_voucher
    for url in [
        reverse("admin:index"),
        reverse("admin:members_member_changelist"),
        reverse("admin:members_member_change", args=[anna.pk]),
        reverse("admin:loyalty_shop_add"),
    ]:
        assert_strict_page(url, admin_client.get(url))


def test_the_copy_buttons_and_language_switcher_run_from_a_static_file(client, member_with_voucher):
    anna, voucher = member_with_voucher
    client.force_login(anna.user)
    body = client.get(reverse("portal:voucher", args=[voucher.code])).content.decode()
    assert 'src="/static/js/klubb.js"' in body
    assert f'data-copy="{voucher.code}" data-copied="' in body
    assert '<select id="language-select" name="language" data-autosubmit>' in body


def test_the_api_docs_load_their_script_from_the_site(client):
    page = client.get(reverse("api-docs"))
    script = re.search(r'<script src="([^"]*\?script=?)"', page.content.decode())
    assert script, "Swagger UI's own script should be a separate file"
    js = client.get(script.group(1))
    assert js.status_code == 200 and "SwaggerUIBundle" in js.content.decode()


def test_a_locked_out_account_stays_locked_for_five_minutes_even_with_the_right_password(client, member):
    member.user.set_password("the-right-password")
    member.user.save()
    EmailAddress.objects.create(user=member.user, email=member.user.email, verified=True, primary=True)
    with time_machine.travel(dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        for _ in range(5):
            client.post(reverse("account_login"), {"login": member.user.email, "password": "wrong"})
        # From another browser (another IP address would do too): the lock is on the account.
        other = client.__class__(REMOTE_ADDR="10.1.2.3")
        response = other.post(reverse("account_login"), {"login": member.user.email, "password": "the-right-password"})
        assert "_auth_user_id" not in other.session
        assert "Too many failed login attempts" in response.content.decode()
        traveller.shift(dt.timedelta(minutes=4))
        other.post(reverse("account_login"), {"login": member.user.email, "password": "the-right-password"})
        assert "_auth_user_id" not in other.session
        traveller.shift(dt.timedelta(minutes=1, seconds=1))
        response = other.post(reverse("account_login"), {"login": member.user.email, "password": "the-right-password"})
        assert response.status_code == 302
        assert other.session["_auth_user_id"] == str(member.user.pk)


# --- Rate limits and body limits on the shop API ----------------------------------------------------------


def test_each_api_key_has_its_own_rate_limit_with_a_json_429_and_retry_after(shop, other_shop, settings):
    settings.KLUBB_API_RATE_LIMIT = "3/min"
    _key, raw = api_key_create(shop=shop)
    _key2, raw_second = api_key_create(shop=shop)
    _key3, raw_other = api_key_create(shop=other_shop)
    first = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for _ in range(3):
        assert first.get("/api/v1/orders/").status_code == 200
    refused = first.get("/api/v1/orders/")
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "throttled" and body["field"] is None and body["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # Writes are counted too, and refused before they touch anything.
    assert first.post("/api/v1/orders/", order_payload(), format="json").status_code == 429
    assert not shop.orders.exists()
    # Another key of the same shop, and another shop, each have their own allowance.
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {raw_second}").get("/api/v1/orders/").status_code == 200
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {raw_other}").get("/api/v1/orders/").status_code == 200


def test_the_rate_limit_window_passes(shop, settings):
    settings.KLUBB_API_RATE_LIMIT = "2/min"
    _key, raw = api_key_create(shop=shop)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    with time_machine.travel(dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        assert [client.get("/api/v1/orders/").status_code for _ in range(3)] == [200, 200, 429]
        traveller.shift(dt.timedelta(seconds=61))
        assert client.get("/api/v1/orders/").status_code == 200


def test_the_rate_limit_counts_in_fixed_windows_with_one_counter_per_window(shop, settings):
    """A request costs one counter's increment, whatever the limit (DRF's own throttle reads and writes the list of
    every request time in the period); a refusal says how long until the window ends."""
    settings.KLUBB_API_RATE_LIMIT = "50/min"
    key, raw = api_key_create(shop=shop)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    with time_machine.travel(dt.datetime(2026, 11, 24, 12, 0, 15, tzinfo=dt.UTC), tick=False) as traveller:
        assert {client.get("/api/v1/orders/").status_code for _ in range(50)} == {200}
        refused = client.get("/api/v1/orders/")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "45"
        window = int(time.time() // 60)
        assert cache.get(f"throttle_api_key_{key.pk}:{window}") == 51  # one integer, not 51 request times
        traveller.shift(dt.timedelta(seconds=45))  # the next minute's window: a fresh allowance
        assert client.get("/api/v1/orders/").status_code == 200
        assert cache.get(f"throttle_api_key_{key.pk}:{window + 1}") == 1


def test_an_oversized_api_body_is_a_json_413_whatever_its_content_type(api, shop, settings):
    settings.KLUBB_MAX_REQUEST_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    big = order_payload(order_id="BIG")
    big["items"] *= 40
    response = api.post("/api/v1/orders/", big, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large" and response.json()["field"] is None
    # Without a Content-Length (chunked) the parser still stops at the limit.
    raw = APIClient(HTTP_AUTHORIZATION=api._credentials["HTTP_AUTHORIZATION"])
    response = raw.generic("POST", "/api/v1/orders/", b"[" + b"1," * 3000 + b"1]", content_type="application/json")
    assert response.status_code == 413
    # A form-encoded body is not something the API takes: a JSON 415, not an HTML page.
    response = api.post("/api/v1/orders/", {"order_id": "x" * 5000}, format="multipart")
    assert response.status_code in (413, 415)
    assert response.json()["code"] in ("body_too_large", "unsupported_media_type")
    assert not shop.orders.exists()


# --- Secrets ------------------------------------------------------------------------------------------------


def test_api_keys_never_appear_in_logs_or_error_bodies(shop, caplog):
    _key, raw = api_key_create(shop=shop)
    wrong = raw[:-4] + "zzzz"
    caplog.set_level(logging.DEBUG)
    bodies = []
    for key in (raw, wrong, "klb_nonsense", raw + " extra"):
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
        for response in (
            client.get("/api/v1/orders/"),
            client.get("/api/v1/orders/nope/"),
            client.post("/api/v1/orders/", {"order_id": "1"}, format="json"),
            client.post("/api/v1/orders/", b"{broken", content_type="application/json"),
        ):
            bodies.append(response.content.decode())
    logged = "\n".join(record.getMessage() + str(record.args) for record in caplog.records)
    for secret in (raw, wrong, raw[len("klb_xxxxxxxx") :]):
        assert secret not in logged
        assert not any(secret in body for body in bodies)


def test_webhook_secrets_never_appear_in_errors_or_logs(client, shop, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.post(
        reverse("hook-shopify", args=[shop.slug]),
        data=b"{}",
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256="bad",
        HTTP_X_SHOPIFY_TOPIC="orders/paid",
        HTTP_X_SHOPIFY_WEBHOOK_ID="w-1",
    )
    assert response.status_code in (400, 401, 403)
    assert shop.shopify_webhook_secret not in response.content.decode()
    assert shop.shopify_webhook_secret not in "\n".join(r.getMessage() for r in caplog.records)


def test_admin_pages_never_show_an_api_key_or_webhook_secret_after_creation(admin_client, shop):
    key, raw = api_key_create(shop=shop)
    subscription = WebhookSubscription.objects.create(
        shop=shop, url="https://shop.example.com/hooks", secret="whsec_super-secret-value-123", events=["x"]
    )
    shop.shopify_webhook_secret = "shpss_very-secret-shopify-value"
    shop.woocommerce_webhook_secret = "wc-very-secret-woo-value"
    shop.save()
    pages = [
        reverse("admin:loyalty_apikey_change", args=[key.pk]),
        reverse("admin:loyalty_apikey_changelist"),
        reverse("admin:loyalty_webhooksubscription_change", args=[subscription.pk]),
        reverse("admin:loyalty_webhooksubscription_changelist"),
        reverse("admin:loyalty_shop_change", args=[shop.pk]),
        reverse("admin:loyalty_shop_changelist"),
    ]
    for page in pages:
        body = admin_client.get(page).content.decode()
        for secret in (raw, key.key_hash, subscription.secret, shop.shopify_webhook_secret, "wc-very-secret-woo-value"):
            assert secret not in body, (page, secret[:12])
    assert "whsec_su…" in admin_client.get(pages[2]).content.decode()


def test_saving_a_shop_in_the_admin_without_retyping_its_secrets_keeps_them(admin_client, shop):
    shop.shopify_webhook_secret = "shpss_keep-me"
    shop.save()
    form = {
        "name": shop.name,
        "slug": shop.slug,
        "currency": shop.currency,
        "country": shop.country,
        "points_per_unit": "",
        "is_active": "on",
        "shopify_webhook_secret": "",
        "woocommerce_webhook_secret": "new-woo-secret",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
    }
    response = admin_client.post(reverse("admin:loyalty_shop_change", args=[shop.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    shop = Shop.objects.get(pk=shop.pk)
    assert (shop.shopify_webhook_secret, shop.woocommerce_webhook_secret) == ("shpss_keep-me", "new-woo-secret")


PRODUCTION_ENV = {"DJANGO_SETTINGS_MODULE": "config.settings.production", "ALLOWED_HOSTS": "klubb.example.com"}


def run_with_production_settings(*args: str) -> str:
    import os
    import secrets
    import subprocess
    import sys

    env = {**os.environ, **PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(60)}
    result = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# `manage.py check --deploy` with production settings: tests/test_project.py.


def test_production_sends_cookies_only_over_https_and_keeps_the_csp():
    import json

    script = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT,"
        "s.SECURE_HSTS_SECONDS, s.X_FRAME_OPTIONS,"
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src']], default=str))"
    )
    values = json.loads(run_with_production_settings("-c", script).strip().splitlines()[-1])
    assert values[:6] == [True, True, True, True, 31536000, "DENY"]
    assert values[6][0] == "'self'" and len(values[6]) == 2 and "'unsafe-inline'" not in values[6]
