"""Webhooks to shops: events are written with the change that caused them, delivered signed to a real
local HTTP server, retried with backoff (by the sweep in eager mode) for 24 hours, and sent once."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pytest_httpserver import HTTPServer

from loyalty.events import delivery as webhook_services
from loyalty.models import (
    OutboxEvent,
    Shop,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from loyalty.tasks import deliver_webhook, webhooks_retry_due
from members.models import Member
from tests.conftest import give_two_factor, make_order, order_payload

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-secret"
ALL_TYPES = ["member.enrolled", "points.changed", "tier.changed"]


def subscribe(shop: Shop, httpserver: HTTPServer, *, path: str = "/hook", events: list[str] | None = None, **kw: Any):
    return WebhookSubscription.objects.create(
        shop=shop, url=httpserver.url_for(path), secret=SECRET, events=events or ALL_TYPES, **kw
    )


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (the README's example)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def received(httpserver: HTTPServer) -> list[tuple[dict, Any]]:
    """(parsed body, headers) of every request the receiver got, in order."""
    return [(json.loads(request.get_data()), request.headers) for request, _response in httpserver.log]


def post_order(api, capture, **kw: Any):
    with capture(execute=True):
        return api.post("/api/v1/orders/", order_payload(**kw), format="json")


def test_order_over_the_api_delivers_enrolled_points_and_tier_events_signed(
    api, shop, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    subscribe(shop, httpserver)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")

    response = post_order(api, django_capture_on_commit_callbacks, email="new@example.com", amount="1500.00")

    assert response.status_code == 201
    member = Member.objects.get(user__email="new@example.com")
    got = received(httpserver)
    assert [body["type"] for body, _h in got] == ["member.enrolled", "points.changed", "tier.changed"]
    for (body, headers), (request, _resp) in zip(got, httpserver.log, strict=True):
        raw = request.get_data()
        assert verify(SECRET, raw, headers["X-Klubb-Signature"])
        assert not verify("wrong-secret", raw, headers["X-Klubb-Signature"])
        assert headers["X-Klubb-Signature"].startswith(f"t={headers['X-Klubb-Timestamp']},v1=")
        assert abs(int(headers["X-Klubb-Timestamp"]) - timezone.now().timestamp()) < 60
        assert headers["X-Klubb-Event-Id"] == body["id"]
        assert headers["X-Klubb-Event-Type"] == body["type"]
        assert headers["Content-Type"] == "application/json"
        assert OutboxEvent.objects.filter(event_id=body["id"], type=body["type"]).exists()
    enrolled, points, tier = (body["data"] for body, _h in got)
    assert enrolled == {"member_id": str(member.public_id), "shop": "nordlys-sport", "source": "api"}
    assert points["member_id"] == str(member.public_id)
    assert points["kind"] == "earn"
    assert points["points"] == 1500
    assert points["balance_after"] == 1500
    assert points["order_id"] == "1001"
    assert points["shop"] == "nordlys-sport"
    assert tier == {"member_id": str(member.public_id), "from": "Bronze", "to": "Silver"}
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {WebhookDeliveryStatus.DELIVERED}
    assert WebhookAttempt.objects.filter(status_code=200).count() == 3


def test_existing_member_gets_only_points_changed(
    api, shop, member, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    subscribe(shop, httpserver)
    httpserver.expect_request("/hook").respond_with_data("ok")

    assert post_order(api, django_capture_on_commit_callbacks, amount="100.00").status_code == 201

    assert [body["type"] for body, _h in received(httpserver)] == ["points.changed"]


def test_nothing_is_emitted_for_a_replay_a_conflict_or_a_refused_order(
    api, shop, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    assert post_order(api, django_capture_on_commit_callbacks).status_code == 201
    subscribe(shop, httpserver)
    events = OutboxEvent.objects.count()

    assert post_order(api, django_capture_on_commit_callbacks).status_code == 200  # replay
    assert post_order(api, django_capture_on_commit_callbacks, amount="999.00").status_code == 409
    refused = post_order(api, django_capture_on_commit_callbacks, order_id="2", currency="SEK")
    assert refused.status_code == 422

    assert OutboxEvent.objects.count() == events
    assert httpserver.log == []


def test_an_order_that_fails_after_its_points_were_written_emits_nothing(
    api, shop, tiers, programme, httpserver, django_capture_on_commit_callbacks, monkeypatch
):
    subscribe(shop, httpserver)
    httpserver.expect_request("/hook").respond_with_data("ok")

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("loyalty.orders.record.tier_evaluate", boom)
    with pytest.raises(RuntimeError):
        post_order(api, django_capture_on_commit_callbacks, email="new@example.com")

    assert not OutboxEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert httpserver.log == []


def test_failing_receiver_is_retried_by_the_sweep_and_gets_the_event_exactly_once(
    api, shop, member, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    subscribe(shop, httpserver, events=["points.changed"])
    httpserver.expect_request("/hook").respond_with_data("boom", status=500)
    before = timezone.now()

    post_order(api, django_capture_on_commit_callbacks, amount="100.00")

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert delivery.next_attempt_at >= before + dt.timedelta(seconds=30)
    attempt = delivery.attempt_log.get()
    assert (attempt.status_code, attempt.error) == (500, "HTTP 500")
    assert len(httpserver.log) == 1  # eager mode: no re-enqueue from inside the task
    assert webhooks_retry_due() == 0  # not due yet
    assert len(httpserver.log) == 1

    httpserver.clear_all_handlers()
    httpserver.expect_request("/hook").respond_with_data("ok")
    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1), tick=False):
        assert webhooks_retry_due() == 1
        assert webhooks_retry_due() == 0

    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    assert delivery.attempts == 2
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 200]
    assert len(httpserver.log) == 2
    (first, first_headers), (second, second_headers) = received(httpserver)
    assert first["id"] == second["id"] == str(delivery.event.event_id)
    assert first_headers["X-Klubb-Event-Id"] == second_headers["X-Klubb-Event-Id"]
    assert first_headers["X-Klubb-Timestamp"] != second_headers["X-Klubb-Timestamp"]
    assert verify(SECRET, httpserver.log[1][0].get_data(), second_headers["X-Klubb-Signature"])


def test_unreachable_receiver_is_logged_as_an_error_and_retried(
    shop, member, tiers, programme, django_capture_on_commit_callbacks
):
    WebhookSubscription.objects.create(shop=shop, url="http://127.0.0.1:9/hook", secret=SECRET, events=ALL_TYPES)
    with django_capture_on_commit_callbacks(execute=True):
        make_order(shop, amount="100.00")

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert delivery.last_status_code is None
    assert "ConnectionRefusedError" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()


def test_delivery_gives_up_after_24_hours_of_failures(
    shop, member, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    subscribe(shop, httpserver, events=["points.changed"])
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        make_order(shop, amount="100.00")
    delivery = WebhookDelivery.objects.get()
    deadline = delivery.event.created_at + dt.timedelta(hours=24)

    for _ in range(100):
        delivery.refresh_from_db()
        if delivery.status != WebhookDeliveryStatus.PENDING:
            break
        assert delivery.next_attempt_at <= deadline
        with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1), tick=False):
            webhooks_retry_due()

    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.attempt_log.count() == delivery.attempts == len(httpserver.log)
    assert 10 < delivery.attempts < 60  # backoff, not a retry storm
    assert delivery.attempt_log.order_by("-pk").first().at >= deadline
    with time_machine.travel(deadline + dt.timedelta(days=2), tick=False):
        assert webhooks_retry_due() == 0
    assert len({headers["X-Klubb-Event-Id"] for _b, headers in received(httpserver)}) == 1


def test_unsubscribed_types_and_inactive_subscriptions_get_nothing(
    api, shop, member, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    subscribe(shop, httpserver, path="/tiers-only", events=["tier.changed"])
    subscribe(shop, httpserver, path="/inactive", is_active=False)
    httpserver.expect_request("/tiers-only").respond_with_data("ok")
    httpserver.expect_request("/inactive").respond_with_data("ok")

    post_order(api, django_capture_on_commit_callbacks, amount="100.00")  # no upgrade

    assert not OutboxEvent.objects.exists()  # no active subscription wants points.changed: no outbox row
    assert not WebhookDelivery.objects.exists()
    assert httpserver.log == []


def test_a_shop_hears_of_its_customers_and_a_club_wide_subscription_of_every_member(
    api, shop, other_shop, member, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    subscribe(shop, httpserver, path="/own", events=["points.changed"])
    subscribe(other_shop, httpserver, path="/other", events=["points.changed"])  # not its customer: nothing
    subscribe(other_shop, httpserver, path="/other-club-wide", events=["points.changed"], club_wide=True)
    for path in ("/own", "/other", "/other-club-wide"):
        httpserver.expect_request(path).respond_with_data("ok")

    post_order(api, django_capture_on_commit_callbacks, amount="100.00")

    assert sorted(request.path for request, _r in httpserver.log) == ["/other-club-wide", "/own"]
    assert len({body["id"] for body, _h in received(httpserver)}) == 1


def test_a_delivered_delivery_is_not_sent_again(
    shop, member, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    subscribe(shop, httpserver, events=["points.changed"])
    httpserver.expect_request("/hook").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        make_order(shop, amount="100.00")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED

    assert deliver_webhook.delay(delivery.pk).get() == "skipped"
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2), tick=False):
        assert webhooks_retry_due() == 0

    assert len(httpserver.log) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_a_delivery_another_worker_is_sending_is_skipped(
    shop, member, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    subscribe(shop, httpserver, events=["points.changed"])
    httpserver.expect_request("/hook").respond_with_data("boom", status=500)
    with django_capture_on_commit_callbacks(execute=True):
        make_order(shop, amount="100.00")
    delivery = WebhookDelivery.objects.get()

    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1), tick=False):
        assert webhook_services._claim(delivery.pk) is not None  # a worker takes it and is sending
        assert webhook_services.webhook_deliver(delivery_id=delivery.pk).status == "skipped"
        assert webhooks_retry_due() == 0
    assert len(httpserver.log) == 1


def test_with_a_broker_a_failed_attempt_re_enqueues_itself_with_the_backoff(
    shop, member, tiers, programme, httpserver, monkeypatch
):
    subscribe(shop, httpserver, events=["points.changed"])
    httpserver.expect_request("/hook").respond_with_data("boom", status=500)
    make_order(shop, amount="100.00")  # on_commit never runs inside the test's transaction
    delivery = WebhookDelivery.objects.get()
    queued: list[tuple[Any, dict]] = []
    monkeypatch.setattr(deliver_webhook, "apply_async", lambda args, **kw: queued.append((args, kw)))

    assert deliver_webhook.run(delivery.pk) == "retry"  # as a worker runs it: not eager

    ((args, options),) = queued
    assert args == (delivery.pk,)
    assert 30 <= options["countdown"] <= 33


def test_staff_redeliver_action_sends_again(
    admin_client, shop, member, tiers, programme, httpserver, django_capture_on_commit_callbacks
):
    subscribe(shop, httpserver, events=["points.changed"])
    httpserver.expect_request("/hook").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        make_order(shop, amount="100.00")
    delivery = WebhookDelivery.objects.get()
    changelist = reverse("admin:loyalty_webhookdelivery_changelist")
    assert admin_client.get(changelist, {"status__exact": "delivered"}).status_code == 200
    assert admin_client.get(reverse("admin:loyalty_webhookdelivery_change", args=[delivery.pk])).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(changelist, {"action": "redeliver", "_selected_action": [delivery.pk]})

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    assert delivery.attempts == 2
    assert len(httpserver.log) == 2
    assert received(httpserver)[0][0]["id"] == received(httpserver)[1][0]["id"]


def test_staff_without_permission_cannot_redeliver(client, shop, member, tiers, programme, httpserver):
    from django.contrib.auth.models import Permission

    from members.models import User

    subscribe(shop, httpserver, events=["points.changed"])
    make_order(shop, amount="100.00")
    staff = User.objects.create_user(email="support@klubb.test", password="pw-for-tests-123", is_staff=True)
    give_two_factor(staff)
    staff.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client.force_login(staff)
    delivery = WebhookDelivery.objects.get()

    response = client.post(
        reverse("admin:loyalty_webhookdelivery_changelist"),
        {"action": "redeliver", "_selected_action": [delivery.pk]},
    )

    assert response.status_code == 200  # "No action selected": the action is not offered
    assert WebhookDelivery.objects.get().next_attempt_at == delivery.next_attempt_at


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_same_delivery_send_it_once(shop, httpserver):
    import threading
    import time

    from django.db import connection
    from werkzeug import Response

    def slow(request: Any) -> Response:
        time.sleep(0.5)
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(slow)
    subscription = subscribe(shop, httpserver, events=["points.changed"])
    event = OutboxEvent.objects.create(type="points.changed", payload={"member_id": "x"})
    delivery = WebhookDelivery.objects.create(event=event, subscription=subscription)
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(webhook_services.webhook_deliver(delivery_id=delivery.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["delivered", "skipped", "skipped", "skipped"]
    assert len(httpserver.log) == 1
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1
