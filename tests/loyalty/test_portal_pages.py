"""The member portal's points pages: activity, rewards and redemption, vouchers. Members see only their own."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from loyalty.campaigns.birthdays import birthday_bonuses
from loyalty.ledger import points_adjust, points_expire
from loyalty.models import LedgerEntry, PointsLot, Reward, Voucher, VoucherStatus
from loyalty.orders import refund_record
from loyalty.rewards.catalogue import reward_redeem, voucher_cancel
from loyalty.templatetags.klubb_format import money
from members.models import Member
from tests.conftest import make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kari(shop, tiers, programme):
    make_order(shop, order_id="1001", amount="1500.00")
    member = Member.objects.get(user__email="kari@example.com")
    member.user.first_name = "Kari"
    member.user.save()
    return member


@pytest.fixture
def logged_in(client, kari):
    client.force_login(kari.user)
    return client


@pytest.fixture
def mug(db):
    return Reward.objects.create(name="Coffee mug", points_cost=500, stock=2, how_to_use="Show the code at the till.")


def test_every_points_page_sends_visitors_to_log_in(client, mug):
    for url in [
        reverse("portal:activity"),
        reverse("portal:rewards"),
        reverse("portal:reward", args=[mug.pk]),
        reverse("portal:vouchers"),
        reverse("portal:voucher", args=["ABCDEFGHJK"]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("account_login")), url
    assert client.post(reverse("portal:reward", args=[mug.pk])).status_code == 302
    assert not Voucher.objects.exists()


def test_staff_without_a_membership_get_a_page_saying_so(admin_client):
    response = admin_client.get(reverse("portal:activity"))
    assert response.status_code == 403
    assert "not a club member" in response.content.decode()


def test_dashboard_shows_what_the_member_can_redeem_now(logged_in, mug):
    Reward.objects.create(name="Weekend trip", points_cost=20000)
    html = logged_in.get(reverse("portal:home")).content.decode()
    assert "What you can get" in html and "Coffee mug" in html
    assert "Weekend trip" not in html  # not affordable: not shown as redeemable


def test_dashboard_names_the_nearest_reward_when_none_is_affordable(client, member, mug):
    client.force_login(member.user)
    html = client.get(reverse("portal:home")).content.decode()
    assert "500 more points and you can redeem Coffee mug." in html


def test_activity_describes_every_kind_of_entry_in_plain_words(logged_in, kari, shop, mug, admin_user):
    refund_record(shop=shop, order_id="1001", refund_id="r-1", amount=Decimal("500.00"))
    voucher = reward_redeem(member=kari, reward=mug)
    voucher_cancel(voucher=voucher, staff=admin_user)
    points_adjust(member=kari, points=50, staff=admin_user, reason="Sorry for the late parcel")

    html = logged_in.get(reverse("portal:activity")).content.decode()
    assert "Order 1001 at Nordlys Sport" in html
    assert "Return on order 1001 at Nordlys Sport" in html
    assert "Reward: Coffee mug" in html
    assert f"Voucher {voucher.code} cancelled, points returned" in html
    assert "Adjusted by the club: Sorry for the late parcel" in html
    assert "NOK\xa01,500.00" in html  # the order's amount in its currency


def test_activity_names_birthday_and_referral_bonuses_in_the_members_language(client, logged_in, kari, shop, programme):
    from referrals.models import ReferralProgramme
    from referrals.services import referral_attach, referrals_reward_due

    programme.birthday_bonus = 100
    programme.save()
    kari.birthday = dt.date(1990, 5, 17)
    kari.save()
    birthday_bonuses(today=dt.date(2026, 5, 17))
    ReferralProgramme.objects.filter(pk=ReferralProgramme.load().pk).update(friend_bonus=200, referrer_reward=500)
    nora = MemberFactory(user__email="nora@example.com", user__first_name="Nora")
    referral_attach(friend=nora, code=kari.referral_code.code, source="portal", new_member=True)
    make_order(shop, order_id="N-1", amount="900.00", email="nora@example.com")
    with time_machine.travel(timezone.now() + dt.timedelta(days=30)):
        assert referrals_reward_due() == 1

    html = logged_in.get(reverse("portal:activity")).content.decode()
    assert "Birthday bonus: happy birthday!" in html
    assert "Reward for inviting a friend who shopped with us" in html
    assert "Bonus: Birthday bonus" not in html and "Referral reward" not in html  # not the staff's English reasons
    logged_in.cookies["django_language"] = "nb"
    norwegian = logged_in.get(reverse("portal:activity")).content.decode()
    assert "Bursdagsbonus: gratulerer med dagen!" in norwegian
    assert "Takk for at du vervet en venn som handlet hos oss" in norwegian

    client.force_login(nora.user)  # the same client: now Nora, still in Norwegian
    assert "Velkomstbonus fordi du ble medlem via en venn" in client.get(reverse("portal:activity")).content.decode()


def test_activity_says_when_points_expired(logged_in, kari, programme):
    PointsLot.objects.filter(member=kari).update(expires_at=timezone.now() - dt.timedelta(days=1))
    points_expire()
    html = logged_in.get(reverse("portal:activity"), {"kind": "expire"}).content.decode()
    assert "Points expired" in html and "-1,500" in html and "Order 1001" not in html
    logged_in.cookies["django_language"] = "nb"
    assert "Poeng utløpt" in logged_in.get(reverse("portal:activity"), {"kind": "expire"}).content.decode()


def test_activity_filter_speaks_the_members_language(logged_in):
    html = logged_in.get(reverse("portal:activity")).content.decode()
    assert '<option value="clawback">Returns</option>' in html
    assert '<option value="earn">Points from orders</option>' in html
    assert "Clawed back" not in html


def test_activity_filters_by_kind_and_ignores_unknown_kinds(logged_in, kari, mug):
    reward_redeem(member=kari, reward=mug)
    only_redeemed = logged_in.get(reverse("portal:activity"), {"kind": "redeem"}).content.decode()
    assert "Reward: Coffee mug" in only_redeemed and "Order 1001" not in only_redeemed
    everything = logged_in.get(reverse("portal:activity"), {"kind": "nonsense", "page": "x"})
    assert everything.status_code == 200
    assert "Order 1001" in everything.content.decode() and "Reward: Coffee mug" in everything.content.decode()


def test_activity_loads_more_as_an_htmx_partial(logged_in, kari, django_assert_max_num_queries):
    for n in range(30):
        points_adjust(member=kari, points=1, staff=None, reason=f"Entry {n:02d}")
    first = logged_in.get(reverse("portal:activity")).content.decode()
    assert first.count("<li>") == 25 and "Load more" in first and "<html" in first

    with django_assert_max_num_queries(12):
        more = logged_in.get(reverse("portal:activity"), {"page": 2}, headers={"HX-Request": "true"})
    partial = more.content.decode()
    assert "<html" not in partial and "<h1>" not in partial
    assert partial.count("<li>") == 6  # 31 entries: 25 on the first page
    assert "Load more" not in partial
    assert "Order 1001" in partial  # the oldest entry comes last


def test_activity_filter_by_htmx_returns_the_history_section_only(logged_in):
    response = logged_in.get(reverse("portal:activity"), {"kind": "earn"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="history"') and "Order 1001" in html


def test_rewards_page_tells_each_reward_state(logged_in, kari, tiers, mug):
    Reward.objects.create(name="Trip", points_cost=9000)
    Reward.objects.create(name="Sold out cap", points_cost=100, stock=0)
    gold_only = Reward.objects.create(name="Gold lounge", points_cost=100)
    gold_only.allowed_tiers.add(tiers[2])
    html = logged_in.get(reverse("portal:rewards")).content.decode()
    assert "You have 1,500 points to spend." in html
    assert "7,500 points to go" in html
    assert "Sold out" in html
    assert "Only for Gold" in html
    assert html.count(">Redeem</a>") == 1


def test_redeeming_with_one_confirmation_shows_the_voucher_and_debits_points(logged_in, kari, mug):
    page = logged_in.get(reverse("portal:reward", args=[mug.pk])).content.decode()
    assert "after this you will have 1,000" in page
    key = re.search(r'name="request_key" value="([^"]+)"', page).group(1)

    response = logged_in.post(reverse("portal:reward", args=[mug.pk]), {"request_key": key}, follow=True)
    voucher = Voucher.objects.get()
    assert response.redirect_chain[-1][0] == reverse("portal:voucher", args=[voucher.code])
    html = response.content.decode()
    assert voucher.code in html and "Show the code at the till." in html and "Ready to use" in html
    assert "Done! Here is your voucher. You have 1,000 points left." in html
    assert '<a href="/vouchers/" aria-current="page">Vouchers</a>' in html  # a voucher is under its own tab
    kari.points.refresh_from_db()
    assert kari.points.balance == 1000
    assert Reward.objects.get(pk=mug.pk).stock == 1


def test_a_double_submitted_redemption_redeems_once(logged_in, kari, mug):
    for _ in range(2):
        logged_in.post(reverse("portal:reward", args=[mug.pk]), {"request_key": "one-form"})
    assert Voucher.objects.count() == 1
    kari.points.refresh_from_db()
    assert kari.points.balance == 1000
    assert LedgerEntry.objects.filter(kind="redeem").count() == 1


@pytest.mark.parametrize(
    ("reward_fields", "message"),
    [
        ({"points_cost": 5000}, "You do not have enough points for this reward yet."),
        ({"points_cost": 100, "stock": 0}, "Sorry, this reward has just run out."),
        ({"points_cost": 100, "is_active": False}, None),  # not on offer: no page at all
    ],
)
def test_a_refused_redemption_explains_and_changes_nothing(logged_in, kari, reward_fields, message):
    reward = Reward.objects.create(name="Thing", **reward_fields)
    response = logged_in.post(reverse("portal:reward", args=[reward.pk]), {"request_key": "k"}, follow=True)
    if message is None:
        assert response.status_code == 404
    else:
        assert message in response.content.decode()
    assert not Voucher.objects.exists()
    kari.points.refresh_from_db()
    assert kari.points.balance == 1500


def test_the_per_member_limit_is_explained_after_use(logged_in, kari):
    reward = Reward.objects.create(name="Welcome gift", points_cost=100, limit_per_member=1)
    logged_in.post(reverse("portal:reward", args=[reward.pk]), {"request_key": "a"})
    response = logged_in.post(reverse("portal:reward", args=[reward.pk]), {"request_key": "b"}, follow=True)
    assert "You have redeemed as many as you may" in response.content.decode()
    assert Voucher.objects.count() == 1


def test_another_members_voucher_is_not_found(logged_in, shop, mug):
    other = MemberFactory(user__email="ola@example.com")
    make_order(shop, order_id="2001", amount="900.00", email="ola@example.com")
    theirs = reward_redeem(member=other, reward=mug)
    assert logged_in.get(reverse("portal:voucher", args=[theirs.code])).status_code == 404
    assert theirs.code not in logged_in.get(reverse("portal:vouchers")).content.decode()


def test_my_vouchers_lists_unused_first(logged_in, kari, mug, shop):
    from loyalty.rewards.catalogue import voucher_use

    used = reward_redeem(member=kari, reward=mug)
    voucher_use(shop=shop, code=used.code, order_id="5001")
    unused = reward_redeem(member=kari, reward=mug)
    html = logged_in.get(reverse("portal:vouchers")).content.decode()
    assert html.index(unused.code) < html.index(used.code)
    assert Voucher.objects.get(pk=used.pk).status == VoucherStatus.USED


@pytest.mark.parametrize(
    ("language", "currency", "expected"),
    [
        ("nb", "NOK", "1\xa0250,00\xa0kr"),
        ("da", "DKK", "1.250,00\xa0kr"),
        ("sv", "SEK", "1\xa0250,00\xa0kr"),
        ("sv", "NOK", "1\xa0250,00\xa0NOK"),
        ("nb", "EUR", "1\xa0250,00\xa0EUR"),
        ("en", "NOK", "NOK\xa01,250.00"),
        ("en", "EUR", "EUR\xa01,250.00"),
    ],
)
def test_money_is_written_one_way_per_language(language, currency, expected):
    """A Nordic language writes its own crown as "kr" after the number and other currencies by their code (not
    "Nkr"); English puts the code first with a space (not "NOK1,250.00")."""
    with translation.override(language):
        assert money(Decimal("1250"), currency) == expected
