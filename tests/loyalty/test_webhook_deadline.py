"""Webhooks to shops within a deadline (issue 14, finding 3): an attempt has one total deadline, however slowly the
receiver trickles its answer, and a receiver that runs out of time cannot hold up other subscriptions' deliveries.

The receivers are real local servers: ``SlowReceiver`` reads the request and then answers a byte at a time
(or never); ``pytest_httpserver`` answers at once."""

from __future__ import annotations

import datetime as dt
import socket
import socketserver
import ssl
import threading
import time

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import connection
from django.utils import timezone
from pytest_httpserver import HTTPServer

from loyalty.events import delivery as webhook_delivery
from loyalty.events import transport
from loyalty.events.delivery import webhook_deliver
from loyalty.events.transport import post_within
from loyalty.models import OutboxEvent, Shop, WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription
from loyalty.tasks import webhooks_retry_due

pytestmark = pytest.mark.django_db

DEADLINE = 1.5  # seconds: the deadline these tests give an attempt
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _length(request: bytes) -> int:
    """The request's Content-Length (0 until its head is in)."""
    head = request.partition(b"\r\n\r\n")[0].lower()
    return next((int(line[15:]) for line in head.split(b"\r\n") if line.startswith(b"content-length:")), 0)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A sender hanging up or refusing the certificate is what these tests do: no traceback."""


class SlowReceiver:
    """An HTTP receiver on 127.0.0.1 that reads each request whole, sends ``head`` at once and then ``answer`` one
    byte every ``interval`` seconds, or never answers when ``answer`` is ``None``. ``connections`` counts the
    requests it got."""

    def __init__(
        self, *, answer: bytes | None, interval: float, head: bytes = b"", tls: ssl.SSLContext | None = None
    ) -> None:
        self.answer, self.interval, self.head, self.tls, self.connections = answer, interval, head, tls, 0
        self.stopping = threading.Event()
        receiver = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                receiver.serve(self.request)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        if self.tls:
            return f"https://localhost:{self.server.server_address[1]}/hook"
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def serve(self, sock: socket.socket) -> None:
        if self.tls:
            sock = self.tls.wrap_socket(sock, server_side=True)
        request = b""
        while b"\r\n\r\n" not in request or len(request.partition(b"\r\n\r\n")[2]) < _length(request):
            chunk = sock.recv(4096)
            if not chunk:
                return
            request += chunk
        self.connections += 1
        if self.answer is None:
            self.stopping.wait(30)
            return
        try:
            sock.sendall(self.head)
            for byte in self.answer:
                if self.stopping.is_set():
                    return
                sock.sendall(bytes([byte]))
                if self.interval:
                    self.stopping.wait(self.interval)
        except OSError:  # the sender hung up: what a deadline does
            return

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_receivers():
    made: list[SlowReceiver] = []

    def make(
        *, answer: bytes | None = OK, interval: float = 0.5, head: bytes = b"", tls: ssl.SSLContext | None = None
    ) -> SlowReceiver:
        made.append(SlowReceiver(answer=answer, interval=interval, head=head, tls=tls))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def tls(tmp_path, monkeypatch) -> ssl.SSLContext:
    """A certificate for localhost, made now: the server context to answer with; the sender trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    monkeypatch.setattr(transport, "_tls_context", lambda: ssl.create_default_context(cafile=str(cert_file)))
    return server


@pytest.fixture
def deadline(monkeypatch):
    monkeypatch.setattr(webhook_delivery, "WEBHOOK_DEADLINE_SECONDS", DEADLINE)
    return DEADLINE


def subscription_to(shop: Shop, url: str) -> WebhookSubscription:
    return WebhookSubscription.objects.create(shop=shop, url=url, secret="whsec_test", events=["points.changed"])


def deliveries_to(*subscriptions: WebhookSubscription, events: int = 1) -> list[list[WebhookDelivery]]:
    """For each subscription, a pending delivery of each of ``events`` new events, due now."""
    made = [OutboxEvent.objects.create(type="points.changed", payload={"member_id": f"m{n}"}) for n in range(events)]
    return [
        [WebhookDelivery.objects.create(event=event, subscription=subscription) for event in made]
        for subscription in subscriptions
    ]


# --- One deadline for the whole attempt ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "head", "answer"),
    [
        ("its whole answer a byte at a time", b"", OK),
        ("its body a byte at a time after the head", b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n", b"o" * 40),
        ("nothing at all", b"", None),
    ],
)
def test_an_attempt_whose_answer_outlasts_the_deadline_fails_and_is_retried(
    shop, deadline, slow_receivers, what, head, answer
):
    # A byte every 0.5 s never lets a per-read timeout fire; the answer would take 20 s in all.
    receiver = slow_receivers(head=head, answer=answer, interval=0.5)
    ((delivery,),) = deliveries_to(subscription_to(shop, receiver.url))
    before = timezone.now()

    started = time.monotonic()
    outcome = webhook_deliver(delivery_id=delivery.pk)
    took = time.monotonic() - started

    assert outcome.status == "retry", what
    assert took < deadline + 0.5
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.PENDING  # never delivered
    assert delivery.delivered_at is None
    assert delivery.last_status_code is None
    assert delivery.last_error == f"Timed out: no complete answer within {deadline:g} s"
    assert delivery.next_attempt_at >= before + dt.timedelta(seconds=30)  # the usual backoff
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert attempt.duration_ms < (deadline + 0.5) * 1000
    assert receiver.connections == 1


def test_a_receiver_answering_a_byte_at_a_time_within_the_deadline_is_delivered(shop, deadline, slow_receivers):
    receiver = slow_receivers(answer=OK, interval=0.01)
    ((delivery,),) = deliveries_to(subscription_to(shop, receiver.url))

    assert webhook_deliver(delivery_id=delivery.pk).status == "delivered"

    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == (WebhookDeliveryStatus.DELIVERED, 200)


def test_over_https_an_answer_in_time_is_delivered_and_a_trickle_runs_out_of_the_deadline(slow_receivers, tls):
    prompt, trickling = slow_receivers(answer=OK, interval=0, tls=tls), slow_receivers(answer=OK, tls=tls)

    answered = post_within(url=prompt.url, body=b"{}", headers={}, seconds=2.0)
    started = time.monotonic()
    trickled = post_within(url=trickling.url, body=b"{}", headers={}, seconds=1.0)

    assert (answered.status_code, answered.error) == (200, "")
    assert time.monotonic() - started < 1.5
    assert (trickled.status_code, trickled.timed_out) == (None, True)
    assert trickling.connections == 1


def test_over_https_a_certificate_the_sender_does_not_trust_is_an_error(slow_receivers, tls, monkeypatch):
    receiver = slow_receivers(answer=OK, interval=0, tls=tls)
    monkeypatch.setattr(transport, "_tls_context", ssl.create_default_context)

    result = post_within(url=receiver.url, body=b"{}", headers={}, seconds=2.0)

    assert result.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert receiver.connections == 0


def test_the_deadline_covers_a_status_line_trickled_after_the_body_was_sent(slow_receivers):
    receiver = slow_receivers(answer=OK, interval=0.2)  # 40 bytes: 8 s in all

    started = time.monotonic()
    result = post_within(url=receiver.url, body=b"{}", headers={"Content-Type": "application/json"}, seconds=1.0)

    assert time.monotonic() - started < 1.5
    assert (result.status_code, result.timed_out) == (None, True)


# --- A slow receiver holds up nobody else --------------------------------------------------------------------


def hanging_and_fast(shop, other_shop, slow_receivers, httpserver, *, events: int):
    """A shop's receiver that never answers with ``events`` deliveries due, and another shop's that answers at
    once with one: ``(receiver, its subscription, its deliveries, the other shop's delivery)``."""
    hanging = slow_receivers(answer=None)
    httpserver.expect_request("/fast").respond_with_data("ok")
    slow, fast = subscription_to(shop, hanging.url), subscription_to(other_shop, httpserver.url_for("/fast"))
    (to_slow, (to_fast, *_rest)) = deliveries_to(slow, fast, events=events)
    return hanging, slow, to_slow, to_fast


def test_a_hanging_receiver_does_not_hold_up_another_shops_delivery(
    shop, other_shop, deadline, slow_receivers, httpserver: HTTPServer
):
    hanging, slow, to_slow, to_fast = hanging_and_fast(shop, other_shop, slow_receivers, httpserver, events=4)

    # One worker takes the queue in order: four deliveries to the hanging receiver come before the other shop's.
    started = time.monotonic()
    outcomes = [webhook_deliver(delivery_id=d.pk).status for d in [*to_slow, to_fast]]
    took = time.monotonic() - started

    assert outcomes == ["retry", "held", "held", "held", "delivered"]
    assert took < deadline + 1.0  # one deadline, not one per queued delivery
    assert hanging.connections == 1
    slow.refresh_from_db()
    assert slow.slow_streak == 1
    assert slow.held_until >= timezone.now() + dt.timedelta(seconds=29)
    for held in to_slow[1:]:
        held.refresh_from_db()
        assert (held.status, held.attempts, held.next_attempt_at) == ("pending", 0, slow.held_until)
        assert held.last_error.startswith("Held back")


def test_a_held_back_receiver_gets_one_probe_and_all_its_deliveries_once_it_answers(shop, deadline, slow_receivers):
    receiver = slow_receivers(answer=None)
    subscription = subscription_to(shop, receiver.url)
    (deliveries,) = deliveries_to(subscription, events=3)
    assert [webhook_deliver(delivery_id=d.pk).status for d in deliveries] == ["retry", "held", "held"]
    latest = max(WebhookDelivery.objects.values_list("next_attempt_at", flat=True))

    # Past the hold it still hangs: one probe, which runs out of time, and the hold doubles.
    with time_machine.travel(latest + dt.timedelta(seconds=1), tick=False):
        assert webhooks_retry_due() == 3
        subscription.refresh_from_db()
        assert receiver.connections == 2
        assert subscription.slow_streak == 2
        assert subscription.held_until >= timezone.now() + dt.timedelta(seconds=60)
    assert WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING).count() == 3

    # Back: the probe is answered in time, the hold ends, and every delivery goes.
    receiver.answer, receiver.interval = OK, 0
    latest = max(WebhookDelivery.objects.values_list("next_attempt_at", flat=True))
    assert latest >= subscription.held_until
    with time_machine.travel(latest + dt.timedelta(seconds=1), tick=False):
        assert webhooks_retry_due() == 3
    subscription.refresh_from_db()
    assert (subscription.slow_streak, subscription.held_until) == (0, None)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {WebhookDeliveryStatus.DELIVERED}
    assert receiver.connections == 5


def test_a_delivery_held_back_past_its_retry_window_gives_up(shop, deadline, slow_receivers):
    receiver = slow_receivers(answer=None)
    (deliveries,) = deliveries_to(subscription_to(shop, receiver.url), events=2)
    webhook_deliver(delivery_id=deliveries[0].pk)
    WebhookSubscription.objects.update(held_until=timezone.now() + dt.timedelta(days=2))

    with time_machine.travel(timezone.now() + dt.timedelta(hours=24, seconds=1), tick=False):
        assert webhook_deliver(delivery_id=deliveries[1].pk).status == "failed"

    deliveries[1].refresh_from_db()
    assert (deliveries[1].status, deliveries[1].attempts) == (WebhookDeliveryStatus.FAILED, 0)
    assert receiver.connections == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_a_hanging_receiver_holds_them_for_one_deadline_at_most(
    shop, other_shop, deadline, slow_receivers, httpserver: HTTPServer
):
    hanging, slow, to_slow, to_fast = hanging_and_fast(shop, other_shop, slow_receivers, httpserver, events=6)
    queue = [d.pk for d in to_slow] + [to_fast.pk]
    lock = threading.Lock()
    finished: dict[int, float] = {}
    started = time.monotonic()

    def worker() -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    delivery_id = queue.pop(0)
                webhook_deliver(delivery_id=delivery_id)
                finished[delivery_id] = time.monotonic() - started
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert WebhookDelivery.objects.get(pk=to_fast.pk).status == WebhookDeliveryStatus.DELIVERED
    assert finished[to_fast.pk] < deadline + 1.0
    assert hanging.connections <= 2  # what was under way when it started to hang, then nothing
    attempts = WebhookDelivery.objects.filter(subscription=slow).values_list("attempts", flat=True)
    assert sum(attempts) == hanging.connections
