"""Webhook subscriptions in staff's hands (issue 14, finding 3): switching one off stops its pending deliveries,
visibly; Klubb generates every signing secret and shows it once, at creation or rotation; and URLs are https
outside development."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from pytest_httpserver import HTTPServer

from loyalty.events.subscriptions import webhook_deliveries_stop, webhook_subscription_create
from loyalty.models import OutboxEvent, WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription
from loyalty.tasks import webhooks_retry_due
from members.models import AuditEntry
from tests.loyalty.test_outbound_webhooks import verify
from tests.test_security import run_with_production_settings

pytestmark = pytest.mark.django_db

ADD = "admin:loyalty_webhooksubscription_add"
CHANGE = "admin:loyalty_webhooksubscription_change"
CHANGELIST = "admin:loyalty_webhooksubscription_changelist"
DELIVERIES = "admin:loyalty_webhookdelivery_changelist"


def failing_subscription(shop, httpserver: HTTPServer, **kw) -> tuple[WebhookSubscription, WebhookDelivery]:
    """A subscription whose receiver answers 500, and a delivery of it tried once and waiting for its retry."""
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    subscription = WebhookSubscription.objects.create(
        shop=shop, url=httpserver.url_for("/hook"), secret="whsec_old", events=["points.changed"], **kw
    )
    event = OutboxEvent.objects.create(type="points.changed", payload={"member_id": "m1"})
    delivery = WebhookDelivery.objects.create(event=event, subscription=subscription)
    assert webhooks_retry_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.PENDING, 1)
    return subscription, delivery


def change_form(subscription: WebhookSubscription, **changes) -> dict:
    form = {"shop": subscription.shop_id, "url": subscription.url, "events": subscription.events, "is_active": "on"}
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def message_texts(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- A switched-off subscription stops ----------------------------------------------------------------------


def test_switching_a_subscription_off_in_the_admin_stops_its_pending_retries(admin_client, shop, httpserver):
    subscription, delivery = failing_subscription(shop, httpserver)

    response = admin_client.post(
        reverse(CHANGE, args=[subscription.pk]), change_form(subscription, is_active=None), follow=True
    )

    assert response.status_code == 200
    assert "Pending deliveries stopped: 1." in message_texts(response)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.CANCELLED
    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(hours=2), tick=False):
        assert webhooks_retry_due() == 0
    assert len(httpserver.log) == 1  # no POST after it was switched off


def test_a_delivery_of_a_subscription_switched_off_elsewhere_is_cancelled_without_a_request(shop, httpserver):
    subscription, delivery = failing_subscription(shop, httpserver)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)  # e.g. in a shell: no service

    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1), tick=False):
        assert webhooks_retry_due() == 1
        assert webhooks_retry_due() == 0

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.CANCELLED, 1)
    assert len(httpserver.log) == 1


def test_stopped_deliveries_say_so_in_the_delivery_list_and_on_the_subscription_page(admin_client, shop, httpserver):
    subscription, delivery = failing_subscription(shop, httpserver)
    subscription.is_active = False
    subscription.save()
    assert webhook_deliveries_stop(subscription=subscription) == 1

    listing = admin_client.get(reverse(DELIVERIES), {"status__exact": "cancelled"}).content.decode()
    page = admin_client.get(reverse(CHANGE, args=[subscription.pk])).content.decode()
    linked = admin_client.get(reverse(DELIVERIES), {"subscription__id__exact": subscription.pk})

    assert "Stopped: subscription inactive" in listing
    assert str(delivery.event.event_id) in listing
    assert "Stopped: subscription inactive: 1" in page
    assert "Pending: 0" in page
    assert f"subscription__id__exact={subscription.pk}" in page
    assert linked.status_code == 200 and str(delivery.event.event_id) in linked.content.decode()


def test_an_active_subscriptions_deliveries_are_not_stopped(shop, httpserver):
    subscription, delivery = failing_subscription(shop, httpserver)

    assert webhook_deliveries_stop(subscription=subscription) == 0

    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.PENDING


def test_staff_cannot_redeliver_to_a_switched_off_subscription(admin_client, shop, httpserver):
    subscription, delivery = failing_subscription(shop, httpserver, is_active=True)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
    webhook_deliveries_stop(subscription=subscription)

    response = admin_client.post(
        reverse(DELIVERIES), {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
    )

    assert "Queued 0 delivery(ies) again." in message_texts(response)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.CANCELLED
    assert len(httpserver.log) == 1


# --- Secrets: generated by Klubb, shown once ----------------------------------------------------------------


def secret_bytes(secret: str) -> bytes:
    assert secret.startswith("whsec_")
    token = secret.removeprefix("whsec_")
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_klubb_generates_the_secret_and_shows_it_once(admin_client, shop):
    response = admin_client.post(
        reverse(ADD),
        {
            "shop": shop.pk,
            "url": "https://shop.example/hooks/klubb",
            "secret": "typed-by-staff",  # not a field any more: ignored
            "events": ["points.changed"],
            "is_active": "on",
        },
        follow=True,
    )

    subscription = WebhookSubscription.objects.get()
    assert len(secret_bytes(subscription.secret)) >= 32
    assert subscription.secret != "typed-by-staff"
    shown = [text for text in message_texts(response) if subscription.secret in text]
    assert len(shown) == 1 and "it will not be shown again" in shown[0]
    for page in (reverse(CHANGE, args=[subscription.pk]), reverse(CHANGELIST)):
        assert subscription.secret not in admin_client.get(page).content.decode()
    audit = AuditEntry.objects.get(model="loyalty.webhooksubscription", action="create")
    assert subscription.secret not in json.dumps(audit.after)


def test_the_add_form_has_no_secret_field(admin_client):
    body = admin_client.get(reverse(ADD)).content.decode()

    assert 'name="secret"' not in body


def test_two_generated_secrets_differ(shop):
    first, first_secret = webhook_subscription_create(shop=shop, url="https://a.example/h", events=["tier.changed"])
    _second, second_secret = webhook_subscription_create(shop=shop, url="https://b.example/h", events=["tier.changed"])

    assert first_secret != second_secret
    assert first.secret == first_secret


def test_rotating_a_secret_shows_the_new_one_once_and_signs_with_it(admin_client, shop, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    subscription = WebhookSubscription.objects.create(
        shop=shop, url=httpserver.url_for("/hook"), secret="whsec_old", events=["points.changed"]
    )

    response = admin_client.post(
        reverse(CHANGELIST), {"action": "rotate_secret", "_selected_action": [subscription.pk]}, follow=True
    )

    subscription.refresh_from_db()
    assert subscription.secret != "whsec_old" and len(secret_bytes(subscription.secret)) >= 32
    assert any(subscription.secret in text for text in message_texts(response))
    assert subscription.secret not in admin_client.get(reverse(CHANGE, args=[subscription.pk])).content.decode()
    assert AuditEntry.objects.filter(model="loyalty.webhooksubscription", note="Signing secret rotated").exists()
    event = OutboxEvent.objects.create(type="points.changed", payload={"member_id": "m1"})
    WebhookDelivery.objects.create(event=event, subscription=subscription)
    assert webhooks_retry_due() == 1
    ((request, _response),) = httpserver.log
    assert verify(subscription.secret, request.get_data(), request.headers["X-Klubb-Signature"])
    assert not verify("whsec_old", request.get_data(), request.headers["X-Klubb-Signature"])


def test_editing_a_subscription_keeps_its_secret(admin_client, shop):
    subscription = WebhookSubscription.objects.create(
        shop=shop, url="https://shop.example/hooks", secret="whsec_chosen-before", events=["points.changed"]
    )

    response = admin_client.post(
        reverse(CHANGE, args=[subscription.pk]), change_form(subscription, events=["tier.changed"])
    )

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.secret, subscription.events) == ("whsec_chosen-before", ["tier.changed"])


# --- https outside development ------------------------------------------------------------------------------


def test_outside_development_the_admin_refuses_an_http_url(admin_client, shop, settings):
    settings.KLUBB_WEBHOOKS_ALLOW_HTTP = False

    refused = admin_client.post(
        reverse(ADD), {"shop": shop.pk, "url": "http://shop.example/hooks", "events": ["points.changed"]}
    )
    accepted = admin_client.post(
        reverse(ADD), {"shop": shop.pk, "url": "https://shop.example/hooks", "events": ["points.changed"]}
    )

    assert refused.status_code == 200
    assert "Use an https URL" in refused.content.decode()
    assert accepted.status_code == 302
    assert list(WebhookSubscription.objects.values_list("url", flat=True)) == ["https://shop.example/hooks"]


def test_outside_development_creating_or_changing_to_an_http_url_is_refused(shop, settings):
    settings.KLUBB_WEBHOOKS_ALLOW_HTTP = False

    with pytest.raises(ValidationError) as refused:
        webhook_subscription_create(shop=shop, url="http://shop.example/hooks", events=["points.changed"])
    subscription, _secret = webhook_subscription_create(
        shop=shop, url="https://shop.example/hooks", events=["points.changed"]
    )
    subscription.url = "HTTP://shop.example/hooks"

    assert refused.value.error_dict["url"][0].code == "https_required"
    with pytest.raises(ValidationError):
        subscription.full_clean()


def test_in_development_an_http_url_for_a_local_receiver_is_allowed(admin_client, shop, settings):
    settings.KLUBB_WEBHOOKS_ALLOW_HTTP = True

    response = admin_client.post(
        reverse(ADD), {"shop": shop.pk, "url": "http://127.0.0.1:9000/hooks", "events": ["points.changed"]}
    )

    assert response.status_code == 302
    assert WebhookSubscription.objects.get().url == "http://127.0.0.1:9000/hooks"


def test_outside_development_nothing_is_sent_to_an_http_url_saved_before(shop, httpserver, settings):
    settings.KLUBB_WEBHOOKS_ALLOW_HTTP = False
    httpserver.expect_request("/hook").respond_with_data("ok")
    subscription = WebhookSubscription.objects.create(
        shop=shop, url=httpserver.url_for("/hook"), secret="whsec_x", events=["points.changed"]
    )
    event = OutboxEvent.objects.create(type="points.changed", payload={"member_id": "m1"})
    delivery = WebhookDelivery.objects.create(event=event, subscription=subscription)

    assert webhooks_retry_due() == 1

    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert delivery.last_error.startswith("URL must be https")
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("module", "debug", "allowed"),
    [
        ("config.settings.production", "1", False),
        ("config.settings.dev", "0", False),
        ("config.settings.dev", "1", True),
        ("config.settings.dev", None, True),  # `make run`: DEBUG on by default
    ],
)
def test_http_webhooks_are_allowed_only_with_debug(module, debug, allowed):
    script = (
        f"import os; os.environ.pop('DEBUG', None); os.environ.update(DJANGO_SETTINGS_MODULE={module!r}"
        + (f", DEBUG={debug!r}" if debug is not None else "")
        + "); import django; django.setup(); from django.conf import settings; "
        "print(settings.KLUBB_WEBHOOKS_ALLOW_HTTP)"
    )

    printed = run_with_production_settings("-c", script).strip().splitlines()[-1]

    assert printed == str(allowed)
