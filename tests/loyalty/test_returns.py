"""Returns as data (issue 17): a refund says why (a return reason from staff's list, and a note), which goods came
back (checked against the order and its earlier refunds) and when it happened (its own date, issue 16)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from loyalty import selectors
from loyalty.models import EntryKind, LedgerEntry, Order, PointsAccount, Refund, RefundLine, ReturnReason
from loyalty.orders import RefundDetails, ReturnedItem, platform_refund_record, platform_return_reason, refund_record
from loyalty.orders.returns import apportion
from loyalty.privacy import loyalty_erase, loyalty_export
from members.models import Member
from tests.conftest import make_order, order_payload

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
ITEMS = [
    {"sku": "RUN-SHOE-42", "name": "Running shoe", "category": "running", "quantity": 2, "unit_price": "900.00"},
    {"sku": "SOCK-3P", "name": "Socks", "category": "running", "quantity": 1, "unit_price": "200.00"},
]


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def ordered(api, frozen, tiers, programme):
    """Order 1001: two shoes at 900 and socks at 200 (2000.00), placed four days ago."""
    payload = order_payload(amount="2000.00", items=ITEMS, occurred_at="2026-11-20T12:00:00+01:00")
    assert api.post("/api/v1/orders/", payload, format="json").status_code == 201
    return Order.objects.get()


def refund(api, **body):
    return api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R-1", "amount": "900.00", **body}, format="json")


def written() -> tuple[int, ...]:
    return (
        Refund.objects.count(),
        RefundLine.objects.count(),
        LedgerEntry.objects.count(),
        PointsAccount.objects.get().balance,
    )


# --- The API --------------------------------------------------------------------------------------


def test_a_refund_keeps_its_reason_note_date_and_returned_goods(api, ordered):
    response = refund(
        api,
        reason="too_small",
        note="Wants the next size up",
        occurred_at="2026-11-22T09:30:00+01:00",
        items=[{"sku": "RUN-SHOE-42", "quantity": 1}],
    )
    assert response.status_code == 201, response.json()
    saved = Refund.objects.get()
    assert (saved.reason.code, saved.note) == ("too_small", "Wants the next size up")
    assert saved.occurred_at == dt.datetime(2026, 11, 22, 8, 30, tzinfo=dt.UTC)
    assert saved.created_at == NOW
    line = saved.lines.get()
    assert (line.sku, line.name, line.category, line.quantity, line.amount) == (
        "RUN-SHOE-42", "Running shoe", "running", 1, Decimal("900.00")
    )  # fmt: skip

    detail = api.get("/api/v1/orders/1001/").json()["refunds"][0]
    assert detail["reason"] == "too_small" and detail["note"] == "Wants the next size up"
    assert detail["occurred_at"] == "2026-11-22T09:30:00+01:00"
    assert detail["items"] == [{"sku": "RUN-SHOE-42", "quantity": 1, "amount": "900.00"}]


def test_a_refund_without_a_date_happened_now_and_without_a_reason_has_none(api, ordered):
    assert refund(api).status_code == 201
    saved = Refund.objects.get()
    assert saved.occurred_at == NOW and saved.reason is None and not saved.lines.exists()
    assert api.get("/api/v1/orders/1001/").json()["refunds"][0]["reason"] is None


@pytest.mark.parametrize("code", ["too_tight", "TOO_SMALL", "retired"])
def test_an_unknown_or_inactive_reason_is_refused_and_changes_nothing(api, ordered, code):
    ReturnReason.objects.create(code="retired", label="Retired", is_active=False)
    before = written()
    response = refund(api, reason=code)
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_return_reason" and response.json()["field"] == "reason"
    assert written() == before


def test_a_returned_sku_the_order_does_not_have_is_refused(api, ordered):
    before = written()
    response = refund(api, items=[{"sku": "HAT-1", "quantity": 1}])
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("returned_item_not_in_order", "items")
    assert written() == before


def test_more_returned_than_ordered_less_earlier_returns_is_refused(api, ordered):
    assert refund(api, items=[{"sku": "RUN-SHOE-42", "quantity": 1}]).status_code == 201
    before = written()
    again = api.post(
        "/api/v1/orders/1001/refunds/",
        {"refund_id": "R-2", "amount": "900.00", "items": [{"sku": "RUN-SHOE-42", "quantity": 2}]},
        format="json",
    )
    assert again.status_code == 422
    assert again.json()["code"] == "return_exceeds_ordered"
    assert "Only 1 of RUN-SHOE-42" in again.json()["message"]
    assert written() == before
    last = api.post(
        "/api/v1/orders/1001/refunds/",
        {"refund_id": "R-3", "amount": "900.00", "items": [{"sku": "RUN-SHOE-42", "quantity": 1}]},
        format="json",
    )
    assert last.status_code == 201


def test_a_replay_with_another_reason_note_or_date_answers_the_first_and_keeps_it(api, ordered):
    items = [{"sku": "RUN-SHOE-42", "quantity": 1}]
    first = refund(api, reason="too_small", note="First", items=items)
    again = refund(api, reason="damaged", note="Second", occurred_at="2026-11-23T10:00:00Z", items=items)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    saved = Refund.objects.get()
    assert (saved.reason.code, saved.note, saved.occurred_at) == ("too_small", "First", NOW)
    assert LedgerEntry.objects.filter(kind=EntryKind.CLAWBACK).count() == 1


@pytest.mark.parametrize(
    "items",
    [[{"sku": "SOCK-3P", "quantity": 1}], [{"sku": "RUN-SHOE-42", "quantity": 2}], []],
    ids=["other goods", "another quantity", "no goods"],
)
def test_a_replay_with_other_returned_goods_is_a_conflict(api, ordered, items):
    assert refund(api, items=[{"sku": "RUN-SHOE-42", "quantity": 1}]).status_code == 201
    again = refund(api, items=items)
    assert again.status_code == 409 and again.json()["code"] == "idempotency_conflict"


def test_the_same_goods_named_in_another_order_or_split_are_a_replay(api, ordered):
    first = [{"sku": "SOCK-3P", "quantity": 1}, {"sku": "RUN-SHOE-42", "quantity": 1}]
    assert refund(api, amount="1100.00", items=first).status_code == 201
    split = [{"sku": "RUN-SHOE-42", "quantity": 1}, {"sku": "SOCK-3P", "quantity": 1}]
    assert refund(api, amount="1100.00", items=split).status_code == 200


def test_a_refund_recorded_before_goods_were_reported_still_replays(api, ordered):
    # Its fingerprint was made without items: a replay without them must still match it.
    assert refund(api).status_code == 201
    assert refund(api, reason="late").status_code == 200


@pytest.mark.parametrize(
    ("occurred_at", "status", "code"),
    [
        ("2026-11-22T09:30:00", 400, "naive"),
        ("1970-01-01T00:00:00Z", 400, "too_early"),
        ("2026-11-26T12:00:01Z", 422, "occurred_in_future"),
    ],
)
def test_a_refund_date_is_held_to_the_rules_of_an_order_date(api, ordered, occurred_at, status, code):
    order = api.post(
        "/api/v1/orders/", order_payload(order_id="check", occurred_at=occurred_at), format="json"
    ).json()  # the order's date: refused the same way
    response = refund(api, occurred_at=occurred_at)
    assert response.status_code == status
    assert response.json()["code"] == code == order["code"]
    assert response.json()["field"] == "occurred_at"
    assert not Refund.objects.exists()


def test_a_refunds_amount_is_shared_among_its_lines_to_the_cent(api, ordered):
    # 1000.00 over a shoe (900) and socks (200): 818.18 and 181.82
    response = refund(
        api, amount="1000.00", items=[{"sku": "RUN-SHOE-42", "quantity": 1}, {"sku": "SOCK-3P", "quantity": 1}]
    )
    assert response.status_code == 201
    lines = dict(RefundLine.objects.values_list("sku", "amount"))
    assert lines == {"RUN-SHOE-42": Decimal("818.18"), "SOCK-3P": Decimal("181.82")}


def test_apportioning_never_loses_or_makes_a_cent():
    shares = apportion(Decimal("100.00"), [Decimal("1"), Decimal("1"), Decimal("1")])
    assert shares == [Decimal("33.33"), Decimal("33.34"), Decimal("33.33")] and sum(shares) == Decimal("100.00")
    assert apportion(Decimal("0.01"), [Decimal("5"), Decimal("5")]) == [Decimal("0.01"), Decimal("0.00")]


def test_return_reasons_are_listed_in_staffs_order_in_the_shops_language(api, ordered):
    ReturnReason.objects.filter(code="late").update(is_active=False)
    reasons = api.get("/api/v1/return-reasons/").json()
    assert reasons[:3] == [
        {"code": "too_small", "label": "Too small"},
        {"code": "too_large", "label": "Too large"},
        {"code": "damaged", "label": "Damaged or faulty"},
    ]
    assert "late" not in [reason["code"] for reason in reasons]
    norwegian = api.get("/api/v1/return-reasons/", HTTP_ACCEPT_LANGUAGE="nb").json()
    assert norwegian[0] == {"code": "too_small", "label": "For liten"}


# --- Platforms' free text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("too_small", ("too_small", "")),
        ("Too-Small", ("too_small", "")),
        ("  For liten ", ("too_small", "")),  # the Norwegian label
        ("Skadad eller defekt", ("damaged", "")),  # the Swedish one
        ("Feil størrelse på sokkene", ("other", "Feil størrelse på sokkene")),
        ("", ("", "")),
    ],
)
def test_a_platforms_free_text_is_a_reason_when_it_names_one_else_a_note_under_other(db, text, expected):
    assert platform_return_reason(text) == expected


def test_without_an_other_reason_free_text_is_kept_as_a_note_without_a_reason(db):
    ReturnReason.objects.filter(code="other").update(is_active=False)
    assert platform_return_reason("Kunden angret") == ("", "Kunden angret")


# --- When a refund happened -----------------------------------------------------------------------


def test_the_members_activity_shows_a_refund_on_the_day_it_happened(frozen, shop, tiers, programme, client):
    make_order(shop, order_id="old", amount="500.00", occurred_at=NOW - dt.timedelta(days=30))
    make_order(shop, order_id="new", amount="100.00", occurred_at=NOW - dt.timedelta(days=2))
    refund_record(
        shop=shop,
        order_id="old",
        refund_id="r-old",
        amount=Decimal("500.00"),
        details=RefundDetails(occurred_at=NOW - dt.timedelta(days=20)),
    )
    kari = Member.objects.get(user__email="kari@example.com")
    entries = list(selectors.member_entries(member=kari))
    assert [(entry.kind, entry.occurred) for entry in entries] == [
        (EntryKind.EARN, NOW - dt.timedelta(days=2)),
        (EntryKind.CLAWBACK, NOW - dt.timedelta(days=20)),  # not today, when it was reported
        (EntryKind.EARN, NOW - dt.timedelta(days=30)),
    ]
    client.force_login(kari.user)
    html = client.get(reverse("portal:activity")).content.decode()
    assert '<time datetime="2026-11-04T' in html  # the refund's day (Oslo time), not the 24th


def test_the_members_activity_says_why_goods_came_back_in_their_language(api, ordered, client):
    refund(api, reason="too_small", note="Staff's own words", items=[{"sku": "RUN-SHOE-42", "quantity": 1}])
    kari = Member.objects.get(user__email="kari@example.com")
    client.force_login(kari.user)
    html = client.get(reverse("portal:activity")).content.decode()
    assert "Return on order 1001 at Nordlys Sport" in html and "Too small" in html
    assert "Staff's own words" not in html  # the note is for staff
    kari.language = "nb"
    kari.save()
    assert "For liten" in client.get(reverse("portal:activity"), HTTP_ACCEPT_LANGUAGE="nb").content.decode()


def test_a_refunds_clawback_counts_in_the_period_the_refund_happened(admin_client, frozen, shop, tiers, programme):
    make_order(shop, order_id="o", amount="1000.00", occurred_at=NOW - dt.timedelta(days=50))
    refund_record(
        shop=shop,
        order_id="o",
        refund_id="r",
        amount=Decimal("400.00"),
        details=RefundDetails(occurred_at=NOW - dt.timedelta(days=40)),
    )
    board = admin_client.get("/admin/dashboard/", {"first": "2026-10-26", "last": "2026-11-24", "refresh": "1"})
    figures = {figure.key: (figure.current, figure.previous) for figure in board.context["board"].figures}
    assert figures["points_clawed_back"] == (0, 400)  # the previous period, when it happened; not today


# --- Privacy --------------------------------------------------------------------------------------


def test_a_members_export_has_their_returns_and_erasure_removes_the_notes(api, ordered):
    refund(api, reason="other", note="Kari says the colour is ugly", items=[{"sku": "SOCK-3P", "quantity": 1}])
    kari = Member.objects.get(user__email="kari@example.com")
    exported = loyalty_export(kari)["refunds"][0]
    assert (exported["reason"], exported["note"]) == ("other", "Kari says the colour is ugly")
    assert exported["items"] == [{"sku": "SOCK-3P", "quantity": 1}]
    loyalty_erase(kari)
    assert Refund.objects.get().note == ""
    assert Refund.objects.get().reason.code == "other"


def test_returned_goods_go_through_the_service_the_same_way(ordered, shop):
    with pytest.raises(Exception) as refused:
        refund_record(
            shop=shop,
            order_id="1001",
            refund_id="svc",
            amount=Decimal("10.00"),
            details=RefundDetails(items=(ReturnedItem(sku="SOCK-3P", quantity=2),)),
        )
    assert refused.value.code == "return_exceeds_ordered"


def test_a_platforms_refund_whose_reason_was_made_inactive_meanwhile_still_takes_its_points_back(ordered, shop):
    ReturnReason.objects.filter(code="damaged").update(is_active=False)
    result = platform_refund_record(
        shop=shop, order_id="1001", refund_id="shopify-1", amount=Decimal("200.00"), source="shopify",
        details=RefundDetails(reason="damaged", items=(ReturnedItem(sku="SOCK-3P", quantity=1),)),
    )  # fmt: skip
    assert result.created and result.refund.reason is None and result.outcome.points_clawed_back == 200
