"""The referrals part of the demo (``manage.py seed_demo``, through ``loyalty.hooks.demo_seed``): friends who
joined through members' codes, at every step from sign-up to reward, and one held for staff review.

Through the services a live club uses: ``referral_attach`` (the friend's welcome bonus, the burst rule that
holds the third sign-up from one address and browser within the hour), ``order_record`` (the qualifying
order) and ``referrals_reward_due`` (the referrer paid once the return window has passed). The demo's orders
happened weeks ago: their referrals qualified then, so their return window is counted from the order.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from loyalty.models import Order, Shop
from loyalty.orders import OrderInput, OrderItem, order_record
from loyalty.shops import MemberRef
from members.models import Member, User
from members.services import member_enrol
from referrals.models import DiscountKind, FriendDiscount, Referral, ReferralProgramme, ReferralStatus
from referrals.services import referral_attach, referral_click_record, referral_code_for, referrals_reward_due

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Safari/604.1"
# friend's email, first and last name, referrer's email, sign-up IP, days ago of the first order (None: none yet)
FRIENDS = [
    ("marte.solheim@example.com", "Marte", "Solheim", "astrid@example.com", "198.51.100.11", 40),
    ("jakob.rustad@example.com", "Jakob", "Rustad", "astrid@example.com", "198.51.100.12", 33),
    ("live.brekke@example.com", "Live", "Brekke", "astrid@example.com", "198.51.100.13", 26),
    ("petter.aune@example.com", "Petter", "Aune", "astrid@example.com", "198.51.100.14", 4),
    ("ronja.fjeld@example.com", "Ronja", "Fjeld", "kari@example.com", "198.51.100.15", None),
    # Three sign-ups from one address and browser within the hour: the third waits for staff review.
    ("siri.moe@example.com", "Siri", "Moe", "ola@example.com", "203.0.113.50", None),
    ("siv.moe@example.com", "Siv", "Moe", "ola@example.com", "203.0.113.50", None),
    ("sol.moe@example.com", "Sol", "Moe", "ola@example.com", "203.0.113.50", 2),
]
# The checkout-first friend: email, referrer's email, days ago of the order that carried the referrer's code.
CHECKOUT_FRIEND = ("nils.berg@example.com", "astrid@example.com", 3)


def referrals_seed_demo(*, now: dt.datetime, shops: tuple[Shop, ...], staff: User, **_: Any) -> None:
    shop = shops[0]
    programme = ReferralProgramme.load()
    programme.friend_discount_kind, programme.friend_discount_value = DiscountKind.PERCENT, Decimal("10.00")
    programme.friend_discount_minimum_order, programme.friend_discount_valid_days = Decimal("300.00"), 30
    programme.save()
    for number, (email, first, last, referrer_email, ip_address, ordered_days_ago) in enumerate(FRIENDS, start=1):
        if Referral.objects.filter(friend__user__email=email).exists():
            continue
        referrer = Member.objects.get(user__email=referrer_email)
        referral_click_record(code=referral_code_for(member=referrer), ip_address=ip_address, user_agent=BROWSER)
        friend, created = member_enrol(email=email, first_name=first, last_name=last, source=Member.Source.PORTAL)
        referral_attach(
            friend=friend, code=referral_code_for(member=referrer).code, source="portal", new_member=created,
            ip_address=ip_address, user_agent=BROWSER,
        )  # fmt: skip
        if ordered_days_ago is None:
            continue
        when = now - dt.timedelta(days=ordered_days_ago, hours=3)
        own_code = tuple(FriendDiscount.objects.filter(referral__friend=friend).values_list("code", flat=True))
        _first_order(shop=shop, order_id=f"N-R{number:02d}", email=email, when=when, codes=own_code)
        _qualified_when_ordered(friend=friend, when=when, programme=programme)
    email, referrer_email, ordered_days_ago = CHECKOUT_FRIEND
    if not Order.objects.filter(shop=shop, external_id="N-RC01").exists():
        code = referral_code_for(member=Member.objects.get(user__email=referrer_email)).code
        when = now - dt.timedelta(days=ordered_days_ago, hours=5)
        _first_order(shop=shop, order_id="N-RC01", email=email, when=when, codes=(code,))
        _qualified_when_ordered(friend=Member.objects.get(user__email=email), when=when, programme=programme)
    referrals_reward_due()


def _first_order(*, shop: Shop, order_id: str, email: str, when: dt.datetime, codes: tuple[str, ...]) -> None:
    amount = Decimal("1249.00")
    order_record(
        shop=shop,
        order=OrderInput(
            order_id=order_id, member=MemberRef(email=email), amount=amount, tax=amount / 5, currency=shop.currency,
            occurred_at=when, discount_codes=codes,
            items=(OrderItem(sku="RUN-1249", name="Running shoe", category="running", unit_price=amount),),
        ),
    )  # fmt: skip


def _qualified_when_ordered(*, friend: Member, when: dt.datetime, programme: ReferralProgramme) -> None:
    """The order qualified the referral when it was placed: its return window runs from then."""
    Referral.objects.filter(friend=friend, status=ReferralStatus.QUALIFIED).update(
        qualified_at=when, reward_due_at=when + dt.timedelta(days=programme.confirmation_days)
    )
