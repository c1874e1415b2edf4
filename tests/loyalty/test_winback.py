"""Win-back: one personal code per inactive member and period, usable at the shop, and the results staff see."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.snapshots import Snapshot
from loyalty.messages import LoyaltyMessage
from loyalty.models import LedgerEntry, Voucher, VoucherStatus, WinbackOffer
from loyalty.rewards.catalogue import voucher_cancel, voucher_use
from loyalty.rewards.winback import winback_send
from loyalty.selectors import winback_offers_with_results
from members.messaging import messages_send_due
from members.models import ConsentSource, Member, Message
from members.services import consent_set, member_erase
from tests.conftest import make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def offer(db):
    return WinbackOffer.objects.create(
        name="Spring", offer="15 % off your next order", inactive_days=90, repeat_days=180, valid_days=30
    )


def member_since(when: dt.datetime, **kwargs) -> Member:
    return MemberFactory(enrolled_at=when, **kwargs)


def test_only_members_inactive_for_the_offers_days_get_a_code(shop, tiers, programme, offer):
    with time_machine.travel(T0, tick=False):
        lapsed = member_since(T0 - dt.timedelta(days=400), user__email="lapsed@example.com")
        make_order(shop, order_id="old", email="lapsed@example.com", occurred_at=T0 - dt.timedelta(days=200))
        active = member_since(T0 - dt.timedelta(days=400), user__email="active@example.com")
        make_order(shop, order_id="new", email="active@example.com", occurred_at=T0 - dt.timedelta(days=10))
        never_ordered = member_since(T0 - dt.timedelta(days=100))
        newcomer = member_since(T0 - dt.timedelta(days=20))
        erased = member_since(T0 - dt.timedelta(days=400))
        member_erase(member=erased, source=ConsentSource.STAFF)
        assert winback_send().members == 2
    holders = set(Voucher.objects.filter(winback_offer=offer).values_list("member_id", flat=True))
    assert holders == {lapsed.pk, never_ordered.pk}
    assert active.pk not in holders and newcomer.pk not in holders
    code = Voucher.objects.get(member=lapsed)
    assert (code.points, code.reward, code.expires_at) == (0, None, T0 + dt.timedelta(days=30))
    assert not LedgerEntry.objects.filter(member=lapsed, points__lt=0).exists()  # it cost no points


def test_the_job_gives_one_code_per_repeat_period_however_often_it_runs(offer):
    member = member_since(T0 - dt.timedelta(days=400))
    with time_machine.travel(T0, tick=False):
        assert winback_send().members == 1
        assert winback_send().members == 0
    with time_machine.travel(T0 + dt.timedelta(days=179), tick=False):
        assert winback_send().members == 0
    with time_machine.travel(T0 + dt.timedelta(days=181), tick=False):
        assert winback_send().members == 1
    assert Voucher.objects.filter(member=member).count() == 2


def test_no_active_offer_means_no_codes(offer):
    offer.is_active = False
    offer.save()
    member_since(T0 - dt.timedelta(days=400))
    assert winback_send().members == 0


def test_the_message_goes_only_to_members_who_said_yes_to_offers(offer, mailoutbox):
    yes = member_since(T0 - dt.timedelta(days=400), language="en", user__first_name="Kari")
    no = member_since(T0 - dt.timedelta(days=400))
    consent_set(member=yes, channel="email", granted=True, source=ConsentSource.PORTAL)
    with time_machine.travel(T0, tick=False):
        winback_send()
        messages_send_due()
    assert Voucher.objects.filter(member=no).exists()  # the code waits on My page
    assert list(Message.objects.filter(kind=LoyaltyMessage.WINBACK).values_list("member_id", flat=True)) == [yes.pk]
    code = Voucher.objects.get(member=yes).code
    [email] = [m for m in mailoutbox if m.to == [yes.user.email]]
    assert email.subject == "We miss you: 15 % off your next order"
    assert f"Use the code {code} at checkout before April 1, 2026." in email.body
    assert "Unsubscribe:" in email.body


def test_the_shop_validates_and_uses_the_code_once(api, other_api, offer):
    member_since(T0 - dt.timedelta(days=400))
    with time_machine.travel(T0, tick=False):
        winback_send()
        code = Voucher.objects.get().code
        checked = api.get(f"/api/v1/vouchers/{code.lower()}/")
        assert checked.status_code == 200
        body = checked.json()
        assert (body["valid"], body["kind"], body["reward_id"], body["reward_name"]) == (
            True, "winback", None, "15 % off your next order"
        )  # fmt: skip
        assert api.post(f"/api/v1/vouchers/{code}/redeem/", {"order_id": "W-1"}, format="json").status_code == 200
        again = other_api.post(f"/api/v1/vouchers/{code}/redeem/", {"order_id": "X-9"}, format="json")
        assert (again.status_code, again.json()["code"]) == (409, "voucher_already_used")


def test_an_expired_code_is_refused_and_changes_nothing(api, offer):
    member_since(T0 - dt.timedelta(days=400))
    with time_machine.travel(T0, tick=False):
        winback_send()
    code = Voucher.objects.get().code
    with time_machine.travel(T0 + dt.timedelta(days=31), tick=False):
        assert api.get(f"/api/v1/vouchers/{code}/").json()["valid"] is False
        refused = api.post(f"/api/v1/vouchers/{code}/redeem/", {"order_id": "W-1"}, format="json")
    assert refused.status_code == 409
    assert refused.json() == {"code": "voucher_expired", "message": "This voucher has expired.", "field": "code"}
    assert Voucher.objects.get().status == VoucherStatus.ISSUED


def test_staff_cancel_a_code_without_touching_points(admin_user, offer):
    member_since(T0 - dt.timedelta(days=400))
    winback_send()
    voucher, cancelled = voucher_cancel(voucher=Voucher.objects.get(), staff=admin_user)
    assert cancelled and voucher.status == VoucherStatus.CANCELLED
    assert not LedgerEntry.objects.exists()


def test_staff_see_how_many_came_back(admin_client, shop, tiers, programme, offer):
    with time_machine.travel(T0, tick=False):
        returning = member_since(T0 - dt.timedelta(days=400), user__email="back@example.com")
        member_since(T0 - dt.timedelta(days=400))
        member_since(T0 - dt.timedelta(days=400))
        winback_send()
    with time_machine.travel(T0 + dt.timedelta(days=5), tick=False):
        make_order(shop, order_id="B-1", email="back@example.com", occurred_at=timezone.now())
        voucher_use(shop=shop, code=Voucher.objects.get(member=returning).code, order_id="B-1")
    results = winback_offers_with_results(WinbackOffer.objects.all()).get()
    assert (results.issued, results.used, results.came_back) == (3, 1, 1)
    page = admin_client.get(reverse("admin:loyalty_winbackoffer_changelist")).content.decode()
    assert "Came back (ordered after the code)" in page


def test_the_job_makes_the_same_number_of_queries_for_5_or_50_members(offer):
    offer.repeat_days = 365  # the first five are not due again in the second run
    offer.save()

    def queries_for(count: int, at: dt.datetime) -> int:
        with time_machine.travel(at, tick=False):
            for _ in range(count):
                member_since(at - dt.timedelta(days=400))
            Snapshot.clear_all()  # both runs read the message templates
            with CaptureQueriesContext(connection) as queries:
                assert winback_send().members == count
        return len(queries)

    assert queries_for(5, T0) == queries_for(50, T0 + dt.timedelta(days=200))


def test_the_vouchers_page_makes_the_same_number_of_queries_for_1_or_5_win_back_codes(client, offer):
    member = MemberFactory()
    client.force_login(member.user)

    def page_queries(codes: int) -> int:
        for n in range(Voucher.objects.filter(member=member).count(), codes):
            Voucher.objects.create(code=f"WB{n:06d}", member=member, points=0, winback_offer=offer)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("portal:vouchers"))
        assert page.content.decode().count("15 % off your next order") >= codes
        return len(queries)

    assert page_queries(1) == page_queries(5)
