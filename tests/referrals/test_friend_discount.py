"""The friend's discount: a personal code at sign-up, the referrer's code at checkout (checkout-first referrals),
checked through the voucher API and used by the order that carries it, once per friend and per mailbox."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from loyalty.models import Currency, EntryKind, LedgerEntry
from loyalty.orders import OrderInput, order_record
from loyalty.shops import MemberRef
from members.messaging import messages_send_due
from members.models import Member, Message
from referrals.discounts import PERSONAL_CODE_LENGTH
from referrals.identity import mailbox_hash
from referrals.models import (
    DiscountKind,
    FriendDiscount,
    FriendDiscountStatus,
    Referral,
    ReferralStatus,
)
from referrals.services import referral_approve, referral_attach, referrals_reward_due
from tests.conftest import api_client_for, make_order
from tests.factories import MemberFactory, ShopFactory
from tests.referrals.conftest import balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def discount_programme(programme_settings):
    programme = programme_settings
    programme.friend_discount_kind, programme.friend_discount_value = DiscountKind.PERCENT, Decimal("10.00")
    programme.friend_discount_minimum_order, programme.friend_discount_valid_days = Decimal("300.00"), 30
    programme.save()
    return programme


@pytest.fixture
def kari(shop, tiers, programme, discount_programme):
    make_order(shop, order_id="K-1", amount="100.00", email="kari@gmail.com", first_name="Kari", phone="+4791111111")
    return Member.objects.select_related("user").get(user__email="kari@gmail.com")


# One time for every order a test reports, so that a replay is the same order.
ORDERED = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5)


def order_with_codes(shop, order_id: str, email: str, codes: tuple[str, ...], amount: str = "450.00", **member):
    return make_order(
        shop, order_id=order_id, email=email, amount=amount, occurred_at=ORDERED, discount_codes=codes, **member
    )


def check(shop, code: str, email: str = ""):
    query = f"?email={quote(email)}" if email else ""
    return api_client_for(shop).get(f"/api/v1/vouchers/{code}/{query}")


# --- Case (a): a friend who joins through the invitation gets a personal code -------------------------------


def sign_up(client, email: str, **extra) -> None:
    client.post(reverse("account_signup"), {"email": email, "password1": "gr0nn-eple-tre", **extra})
    client.post(re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0))


def test_the_landing_page_offers_the_discount_and_the_code_to_enter_at_checkout(client, kari):
    html = client.get(f"/r/{kari.referral_code.code}/").content.decode()
    assert "Your friend's gift to you: 10% off your first order of NOK\xa0300.00 or more." in html
    assert f"Enter the code {kari.referral_code.code} at checkout" in html


def test_a_friend_who_joins_through_the_link_gets_a_single_use_code_by_email(client, kari):
    client.get(f"/r/{kari.referral_code.code}/")
    sign_up(client, "nora@example.com", first_name="Nora")
    nora = Member.objects.get(user__email="nora@example.com")
    discount = FriendDiscount.objects.get(referral__friend=nora)
    assert len(discount.code) == PERSONAL_CODE_LENGTH and not discount.shared
    assert (discount.kind, discount.value, discount.minimum_order, discount.currency) == (
        "percent", Decimal("10.00"), Decimal("300.00"), "NOK",
    )  # fmt: skip
    assert discount.expires_at.date() == (timezone.now() + dt.timedelta(days=30)).date()
    assert balance(nora) == 200  # besides the welcome bonus
    messages_send_due()  # the worker renders what it sends
    message = Message.objects.get(member=nora, kind="friend_discount", channel="email")
    assert discount.code in message.body and "10% off your first order" in message.body
    # The friend finds it again on the invite page.
    client.force_login(nora.user)
    html = client.get("/invite/").content.decode()
    assert "Your welcome discount" in html and discount.code in html


def test_the_discount_is_instead_of_the_welcome_bonus_when_the_bonus_is_zero(kari, discount_programme):
    discount_programme.friend_bonus = 0
    discount_programme.save()
    friend = MemberFactory(user__email="ola@example.com")
    referral_attach(friend=friend, code=kari.referral_code.code, source="portal", new_member=True)
    assert FriendDiscount.objects.filter(referral__friend=friend).exists()
    assert balance(friend) == 0


def test_no_code_while_the_programme_gives_no_discount(kari, shop, discount_programme):
    discount_programme.friend_discount_kind = DiscountKind.NONE
    discount_programme.save()
    friend = MemberFactory(user__email="ola@example.com")
    referral_attach(friend=friend, code=kari.referral_code.code, source="portal", new_member=True)
    assert not FriendDiscount.objects.exists()
    assert check(shop, kari.referral_code.code).status_code == 404  # a referral code alone is no discount code


def test_a_sign_up_held_for_review_gets_its_code_when_staff_approve(kari, admin_user):
    for n in range(3):
        referral_attach(
            friend=MemberFactory(user__email=f"friend{n}@example.com"), code=kari.referral_code.code,
            source="portal", new_member=True, ip_address="10.1.1.1", user_agent="Bot/1",
        )  # fmt: skip
    held = Referral.objects.get(status=ReferralStatus.REVIEW)
    assert not FriendDiscount.objects.filter(referral=held).exists()
    referral_approve(referral=held, staff=admin_user)
    assert FriendDiscount.objects.filter(referral=held, shared=False).exists()


def test_the_shop_checks_a_personal_code_and_the_order_carrying_it_uses_it_once(kari, shop):
    friend = MemberFactory(user__email="ola@example.com")
    referral_attach(friend=friend, code=kari.referral_code.code, source="portal", new_member=True)
    code = FriendDiscount.objects.get().code
    body = check(shop, code.lower()).json()
    assert body["valid"] is True and body["kind"] == "friend_discount"
    assert body["member_id"] == str(friend.public_id)
    assert body["discount"] == {"kind": "percent", "value": "10.00", "minimum_order": "300.00", "currency": "NOK"}

    order_with_codes(shop, "O-1", "ola@example.com", (f"{code[:5]}-{code[5:]}",))
    order_with_codes(shop, "O-1", "ola@example.com", (code,))  # a replay
    order_with_codes(shop, "O-2", "ola@example.com", (code,))  # used already: the order stands, nothing changes
    discount = FriendDiscount.objects.get()
    assert discount.status == FriendDiscountStatus.USED and discount.used_order.external_id == "O-1"
    body = check(shop, code).json()
    assert body["valid"] is False and body["status"] == "used" and body["used_order_id"] == "O-1"
    assert Referral.objects.get().qualifying_order.external_id == "O-1"


def test_an_expired_personal_code_is_not_valid_and_not_used(kari, shop):
    friend = MemberFactory(user__email="ola@example.com")
    referral_attach(friend=friend, code=kari.referral_code.code, source="portal", new_member=True)
    code = FriendDiscount.objects.get().code
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        assert check(shop, code).json()["valid"] is False
        order_with_codes(shop, "O-1", "ola@example.com", (code,))
    assert FriendDiscount.objects.get().status == FriendDiscountStatus.ISSUED


# --- Case (b): the referrer's code at checkout ----------------------------------------------------------------


def test_the_referrers_code_on_a_new_customers_order_refers_them_once(kari, shop):
    code = kari.referral_code.code
    assert check(shop, code, "nils@example.com").json()["valid"] is True

    order_with_codes(shop, "C-1", "nils@example.com", (code.lower(),), first_name="Nils")
    nils = Member.objects.get(user__email="nils@example.com")
    referral = Referral.objects.get()
    assert (referral.referrer, referral.friend, referral.source) == (kari, nils, "checkout")
    assert referral.status == ReferralStatus.QUALIFIED and referral.qualifying_order.external_id == "C-1"
    assert LedgerEntry.objects.filter(member=nils, kind=EntryKind.BONUS, points=200).count() == 1
    discount = FriendDiscount.objects.get()
    assert discount.shared and discount.code == code and discount.status == FriendDiscountStatus.USED
    assert discount.used_order.external_id == "C-1" and discount.mailbox == mailbox_hash("Nils@Example.com")

    # A replay, and the same code on the customer's next order: no second referral, discount or bonus.
    order_with_codes(shop, "C-1", "nils@example.com", (code.lower(),), first_name="Nils")
    order_with_codes(shop, "C-2", "nils@example.com", (code,))
    assert Referral.objects.count() == 1 and FriendDiscount.objects.count() == 1
    assert LedgerEntry.objects.filter(member=nils, kind=EntryKind.BONUS).count() == 1
    assert check(shop, code, "nils@example.com").json()["valid"] is False
    assert not FriendDiscount.objects.filter(referral__friend=nils, shared=False).exists()  # no second code


def test_the_checkout_referral_pays_the_referrer_after_the_return_window(kari, shop):
    order_with_codes(shop, "C-1", "nils@example.com", (kari.referral_code.code,))
    before = balance(kari)
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        assert referrals_reward_due() == 1
    assert balance(kari) == before + 500


@pytest.mark.parametrize(
    ("email", "prepare"),
    [
        ("k.a.r.i+shop@gmail.com", None),  # the referrer under another spelling of her mailbox
        ("per@example.com", "ordered"),  # a customer already
        ("per@example.com", "referred"),  # someone else's friend already
        ("per@example.com", "long ago"),  # a member for longer than the attribution window
    ],
)
def test_the_referrers_code_refers_nobody_who_is_not_a_new_friend(kari, shop, email, prepare):
    if prepare == "ordered":
        make_order(shop, order_id="P-0", amount="50.00", email=email)
    if prepare == "referred":
        referral_attach(friend=MemberFactory(user__email=email), code=MemberFactory().referral_code.code,
                        source="portal", new_member=True)  # fmt: skip
    if prepare == "long ago":
        with time_machine.travel(timezone.now() - dt.timedelta(days=40)):
            MemberFactory(user__email=email)
    referrals_before = set(Referral.objects.values_list("pk", flat=True))
    assert check(shop, kari.referral_code.code, email).json()["valid"] is False

    result = order_with_codes(shop, "C-1", email, (kari.referral_code.code,))
    assert result.created  # the order stands
    assert set(Referral.objects.filter(referrer=kari).values_list("pk", flat=True)) <= referrals_before
    assert not FriendDiscount.objects.filter(shared=True).exists()


def test_one_mailbox_gets_one_friends_discount_however_it_is_spelled(kari, shop):
    order_with_codes(shop, "C-1", "nils.berg@gmail.com", (kari.referral_code.code,))
    assert check(shop, kari.referral_code.code, "nilsberg+2@gmail.com").json()["valid"] is False
    order_with_codes(shop, "C-2", "nilsberg+2@gmail.com", (kari.referral_code.code,))
    assert Referral.objects.count() == 1 and FriendDiscount.objects.count() == 1


def test_the_referrers_address_on_a_checkout_friends_order_waits_for_review(kari, shop):
    make_order(shop, order_id="K-2", amount="100.00", email="kari@gmail.com")
    order_record(
        shop=shop,
        order=OrderInput(
            order_id="K-3", member=MemberRef(email="kari@gmail.com"), amount=Decimal("10.00"),
            currency=shop.currency, occurred_at=timezone.now(), shipping_address="Storgata 1, 0155 Oslo",
        ),
    )  # fmt: skip
    order_record(
        shop=shop,
        order=OrderInput(
            order_id="C-1", member=MemberRef(email="nils@example.com"), amount=Decimal("450.00"),
            currency=shop.currency, occurred_at=timezone.now(), shipping_address="storgata 1 0155 oslo",
            discount_codes=(kari.referral_code.code,),
        ),
    )  # fmt: skip
    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.REVIEW
    assert [flag["rule"] for flag in referral.flags] == ["referrer_address_on_order"]


def test_many_new_customers_on_one_code_in_a_short_time_wait_for_review(kari, shop, admin_user):
    for n in range(3):
        order_with_codes(shop, f"C-{n}", f"buyer{n}@example.com", (kari.referral_code.code,))
    statuses = list(Referral.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["qualified", "qualified", "review"]
    held = Referral.objects.get(status=ReferralStatus.REVIEW)
    assert held.flags[0]["rule"] == "checkout_burst" and balance(held.friend) == 450  # the order's points only
    assert FriendDiscount.objects.filter(referral=held, status="used").exists()  # the shop gave it: recorded

    referral_approve(referral=held, staff=admin_user)
    held.refresh_from_db()
    assert held.status == ReferralStatus.QUALIFIED and balance(held.friend) == 450 + 200


# --- Money and currencies -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "minimum", "valid_in_sek"),
    [
        (DiscountKind.PERCENT, "10.00", "300.00", False),  # a minimum in NOK means nothing in SEK
        (DiscountKind.AMOUNT, "100.00", "0.00", False),  # nor an amount off
        (DiscountKind.PERCENT, "12.50", "0.00", True),  # a percent without a minimum applies anywhere
    ],
)
def test_a_shop_in_another_currency_can_use_only_a_percent_without_a_minimum(
    kari, shop, discount_programme, kind, value, minimum, valid_in_sek
):
    discount_programme.friend_discount_kind = kind
    discount_programme.friend_discount_value = Decimal(value)
    discount_programme.friend_discount_minimum_order = Decimal(minimum)
    discount_programme.save()
    swedish = ShopFactory(name="Fjällbo", slug="fjallbo", currency=Currency.SEK)
    body = check(swedish, kari.referral_code.code, "nils@example.com").json()
    assert body["valid"] is valid_in_sek
    assert body["discount"] == {"kind": kind, "value": value, "minimum_order": minimum, "currency": "NOK"}
    assert check(shop, kari.referral_code.code, "nils@example.com").json()["valid"] is True


def test_an_amount_discount_reads_in_money(kari, shop, discount_programme):
    discount_programme.friend_discount_kind, discount_programme.friend_discount_value = "amount", Decimal("150.00")
    discount_programme.save()
    assert check(shop, kari.referral_code.code).json()["reward_name"] == (
        "NOK\xa0150.00 off your first order of NOK\xa0300.00 or more"
    )


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [(DiscountKind.PERCENT, "100.01", "friend_discount_value"), (DiscountKind.AMOUNT, "0.00", "friend_discount_value")],
)
def test_staff_cannot_save_a_discount_that_means_nothing(discount_programme, kind, value, field):
    discount_programme.friend_discount_kind, discount_programme.friend_discount_value = kind, Decimal(value)
    with pytest.raises(ValidationError) as refused:
        discount_programme.full_clean()
    assert field in refused.value.message_dict


def test_staff_see_the_friends_discount_on_the_referral_and_its_terms_in_the_programme(admin_client, kari, shop):
    order_with_codes(shop, "C-1", "nils@example.com", (kari.referral_code.code,))
    referral = Referral.objects.get()
    html = admin_client.get(reverse("admin:referrals_referral_change", args=[referral.pk])).content.decode()
    assert "10% off your first order" in html and "(C-1)" in html
    html = admin_client.get(reverse("admin:referrals_referralprogramme_change", args=[1])).content.decode()
    assert 'name="friend_discount_kind"' in html and 'name="friend_discount_minimum_order"' in html


def test_the_friends_email_reads_in_their_language_with_the_money_in_its_format(kari):
    friend = MemberFactory(user__email="ola@example.com", language="nb")
    referral_attach(friend=friend, code=kari.referral_code.code, source="portal", new_member=True)
    messages_send_due()
    message = Message.objects.get(member=friend, kind="friend_discount", channel="email")
    assert message.subject == f"Velkomstrabatten din: {FriendDiscount.objects.get().code}"
    assert "10 % rabatt på din første bestilling på 300,00\xa0kr eller mer" in message.body
