"""Programs call /api/ and /hooks/: every error there is JSON {"code", "message", "field"}, never an HTML page,
whether a view of ours or Django itself answered. People's pages keep theirs."""

from __future__ import annotations

import pytest

from tests.conftest import order_payload

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code and body["message"] and body["field"] is None
    return body


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/nope", "/api/nope", "/hooks/nope", "/hooks/nope/"])
def test_an_unknown_address_under_the_api_and_the_hooks_is_a_json_404(client, path):
    assert_json_error(client.get(path), 404, "not_found")
    assert_json_error(client.post(path, "{}", content_type="application/json"), 404, "not_found")


def test_a_method_a_webhook_does_not_take_is_a_json_405_that_names_the_one_it_takes(client, shop):
    for path in [f"/hooks/shopify/{shop.slug}/", f"/hooks/woocommerce/{shop.slug}/", "/hooks/sms/46elks/x/"]:
        body = assert_json_error(client.get(path), 405, "method_not_allowed")
        assert body["message"] == 'Method "GET" not allowed.'
        assert client.get(path)["Allow"] == "POST"


def test_a_method_an_api_operation_does_not_take_is_a_json_405(api):
    response = api.delete("/api/v1/orders/")
    assert_json_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_a_fault_inside_an_api_view_is_a_json_500_without_the_traceback(api, shop, tiers, settings, monkeypatch):
    settings.DEBUG = False

    def broken(**kwargs):
        raise RuntimeError("secret detail of the fault")

    monkeypatch.setattr("loyalty.api.orders.order_record", broken)
    api.raise_request_exception = False
    response = api.post("/api/v1/orders/", order_payload(), format="json")
    assert_json_error(response, 500, "server_error")
    assert b"secret detail" not in response.content and b"Traceback" not in response.content
    assert response["X-Content-Type-Options"] == "nosniff"  # the security headers stay


def test_a_fault_inside_a_webhook_is_a_json_500(client, shop, settings, monkeypatch):
    settings.DEBUG = False

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail of the fault")

    monkeypatch.setattr("loyalty.platforms.shopify.receive", broken)
    client.raise_request_exception = False
    response = client.post(f"/hooks/shopify/{shop.slug}/", "{}", content_type="application/json")
    assert_json_error(response, 500, "server_error")
    assert b"secret detail" not in response.content


def test_a_host_the_site_does_not_serve_is_a_json_400_under_the_api(client, settings):
    settings.ALLOWED_HOSTS = ["klubb.example.com"]
    assert_json_error(client.get("/api/v1/orders/", HTTP_HOST="evil.example.net"), 400, "bad_request")


def test_peoples_pages_keep_their_html_error_pages(client, member, settings, monkeypatch):
    settings.DEBUG = False
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail of the fault")

    monkeypatch.setattr("members.views.member_profile_update", broken)
    client.force_login(member.user)
    client.raise_request_exception = False
    data = {"first_name": "Kari", "last_name": "", "phone": "", "birthday": "", "language": "en"}
    failed = client.post("/profile/", data)
    assert failed.status_code == 500 and failed["Content-Type"].startswith("text/html")
    assert "Something went wrong" in failed.content.decode()
