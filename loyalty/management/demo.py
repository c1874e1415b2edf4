"""The demo's year of history (``seed_demo``): about 200 members of two shops (Nordlys Sport in NOK, Fjällbo
Outdoor in SEK) over the last 13 months, with dates relative to now so the dashboard always has recent data.

Everything goes through the services a live club uses, so points, lots, tiers and events are right and
``check_ledger`` holds: the history through the order import (``orders_import``, bulk, with the campaign rules
of each order's date), refunds through ``refund_record``, the last weeks' orders through ``order_record`` (live:
pending points, messages), sign-ups through ``member_enrol`` (sign-up points), events through ``event_record``,
vouchers through ``reward_redeem``/``voucher_use``, checkout codes through ``redemption_reserve``, win-back
through the job (``winback_send``), replenishment reminders through live orders and their job
(``replenishment_remind``) and old points through the expiry job (``points_expire``). Other apps add
theirs through ``loyalty.hooks.demo_seed`` (referrals: a friend in the review queue among them).

Deterministic: one seeded random generator; the same run gives the same members, orders and amounts.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from loyalty import hooks
from loyalty.campaigns.actions import event_record
from loyalty.campaigns.segments import segment_message_send
from loyalty.ledger import points_adjust, points_expire
from loyalty.models import (
    ActionKind,
    ApiKey,
    Country,
    Currency,
    EarningRule,
    Order,
    PointsAction,
    ReplenishmentReminder,
    ReplenishmentRule,
    Reward,
    RuleKind,
    Segment,
    Shop,
    Tier,
    Voucher,
    VoucherStatus,
    WebhookSubscription,
    WinbackOffer,
)
from loyalty.orders import (
    OrderInput,
    OrderItem,
    RefundDetails,
    ReturnedItem,
    order_record,
    orders_import,
    refund_record,
)
from loyalty.replenishment import replenishment_remind
from loyalty.rewards import redemption_release, redemption_reserve, reward_redeem, voucher_use
from loyalty.rewards.winback import winback_send
from loyalty.shops import MemberRef, api_key_create, shop_customer_link
from members.models import ConsentChannel, ConsentSource, Member, User
from members.services import consent_set, member_enrol

SEED = 16
HISTORY_MEMBERS = 165  # imported history, joined 20 to 400 days ago
LIVE_MEMBERS = 24  # signed up in the last weeks (sign-up points, welcome messages), some through a friend
SECOND_SHOP_SLUG = "fjallbo-outdoor"
SECOND_SHOP_API_KEY = "klb_demo0002_fjallbo-outdoor-demo-key"
FIRST_NAMES = [
    "Ingrid", "Lars", "Sofie", "Anders", "Maja", "Erik", "Nora", "Jonas", "Emma", "Magnus", "Hanna", "Sander",
    "Ida", "Henrik", "Thea", "Mats", "Sara", "Johan", "Linnea", "Per", "Elin", "Oskar", "Frida", "Nils", "Selma",
    "Tobias", "Julie", "Axel", "Vilde", "Emil", "Mathilde", "Kristian", "Alva", "Sindre", "Klara", "Gustav",
]  # fmt: skip
LAST_NAMES = [
    "Johansen", "Berg", "Lund", "Haugen", "Bakken", "Nilsson", "Andersson", "Dahl", "Strand", "Moen", "Eriksson",
    "Solberg", "Holm", "Karlsson", "Lie", "Svensson", "Vik", "Lindberg", "Aas", "Nyström", "Jensen", "Hagen",
]  # fmt: skip
CATEGORIES = [
    ("running", "Running shoe", 899), ("skiing", "Ski wax kit", 349), ("hiking", "Hiking jacket", 1799),
    ("clothing", "Wool sweater", 1199), ("running", "Running tights", 599), ("hiking", "Trail backpack", 1299),
    ("skiing", "Ski gloves", 449), ("clothing", "Base layer", 499),
]  # fmt: skip
# Why goods of each category come back in the demo: (return reason, note), drawn evenly.
RETURN_REASONS = {
    "running": [("too_small", ""), ("too_small", "Wants half a size up"), ("too_large", ""), ("changed_mind", "")],
    "clothing": [("too_small", ""), ("too_large", ""), ("too_large", "Sleeves too long"), ("not_as_described", "")],
    "hiking": [("damaged", "Zip broken on arrival"), ("not_as_described", ""), ("wrong_item", ""), ("too_small", "")],
    "skiing": [("damaged", ""), ("late", "Arrived after the trip"), ("changed_mind", ""), ("other", "Gift, unwanted")],
}
EVENT_TYPE = "product_review"
# What members read in the win-back message, in their language (django-modeltranslation's offer_nb, ...).
WINBACK_TEXTS = {
    "offer": {"en": "15 % off your next order", "nb": "15 % rabatt på neste ordre",
              "da": "15 % rabat på din næste ordre", "sv": "15 % rabatt på din nästa order"},
    "how_to_use": {"en": "Type the code at checkout.", "nb": "Skriv inn koden i kassen.",
                   "da": "Indtast koden ved kassen.", "sv": "Skriv in koden i kassan."},
}  # fmt: skip


def per_language(texts: dict[str, dict[str, str]]) -> dict[str, str]:
    """``{"offer": {"en": ..., "nb": ...}}`` as model fields: ``{"offer_en": ..., "offer_nb": ...}``."""
    return {f"{name}_{lang}": text for name, by_language in texts.items() for lang, text in by_language.items()}


# Replenishment rules: (name, SKU of the demo's items, lasts (days), remind days before, the rule's own line).
REPLENISHMENT_RULES = [
    ("Running shoes: a new pair after 6 months", "RUN-899", 180, 30,
     {"en": "Members try new shoes in the shop any day.",
      "nb": "Som medlem kan du prøve nye sko i butikken når som helst.",
      "da": "Som medlem kan du prøve nye sko i butikken når som helst.",
      "sv": "Som medlem kan du prova nya skor i butiken när som helst."}),
    ("Ski wax: a new kit after 45 days", "SKI-349", 45, 7,
     {"en": "Fresh wax for the weekend?", "nb": "Ny smøring til helgen?", "da": "Ny voks til weekenden?",
      "sv": "Ny valla till helgen?"}),
]  # fmt: skip

RULE_NAMES = ("Double points weekend (spring)", "Ski season: double points on skiing", "Big basket bonus")


@dataclass
class DemoReport:
    members: int = 0
    orders: int = 0
    refunds: int = 0
    expired: int = 0
    notes: list[str] = field(default_factory=list)


def demo_shops() -> tuple[Shop, Shop]:
    """The demo's two shops (the NOK one exists already: ``seed_demo`` made it)."""
    nok = Shop.objects.get(slug="nordlys-sport")
    sek, _created = Shop.objects.get_or_create(
        slug=SECOND_SHOP_SLUG,
        defaults={"name": "Fjällbo Outdoor", "currency": Currency.SEK, "country": Country.SE,
                  "points_per_unit": Decimal("1")},
    )  # fmt: skip
    if not ApiKey.objects.filter(prefix=SECOND_SHOP_API_KEY[:12]).exists():
        api_key_create(shop=sek, name="demo", raw_key=SECOND_SHOP_API_KEY)
    return nok, sek


def demo_campaigns(*, now: dt.datetime, nok: Shop, sek: Shop) -> None:
    """Earning rules (one past, two running), points for actions (sign-up, a completed profile, a review), a
    win-back offer, a segment and a webhook subscription: made before the history, so that the import earns by
    the rules of each order's date."""
    if not EarningRule.objects.filter(name=RULE_NAMES[0]).exists():
        weekend = EarningRule.objects.create(
            name=RULE_NAMES[0], kind=RuleKind.MULTIPLIER, multiplier=Decimal("2"),
            starts_at=now - dt.timedelta(days=240), ends_at=now - dt.timedelta(days=237),
        )  # fmt: skip
        weekend.shops.set([sek])  # the Swedish shop's: the README's orders at Nordlys Sport are never in it
        EarningRule.objects.create(
            name=RULE_NAMES[1],
            kind=RuleKind.MULTIPLIER,
            multiplier=Decimal("2"),
            categories="skiing",
            starts_at=now - dt.timedelta(days=45),
            ends_at=now + dt.timedelta(days=60),
            cap_per_member=2000,
        )
        bonus = EarningRule.objects.create(
            name=RULE_NAMES[2],
            kind=RuleKind.BONUS,
            bonus_points=150,
            min_order_amount=Decimal("2000"),
            starts_at=now - dt.timedelta(days=120),
            ends_at=now + dt.timedelta(days=90),
        )
        bonus.tiers.set(Tier.objects.filter(threshold__gte=2000))
    actions = [(ActionKind.SIGNUP, "", "Welcome points for joining", 100, 1, None),
               (ActionKind.PROFILE_COMPLETED, "", "A completed profile", 150, 1, None),
               (ActionKind.EVENT, EVENT_TYPE, "A product review", 50, 3, 30)]  # fmt: skip
    for kind, event_type, name, points, limit, days in actions:
        PointsAction.objects.get_or_create(
            kind=kind, event_type=event_type,
            defaults={"name": name, "points": points, "limit_per_member": limit, "limit_days": days},
        )  # fmt: skip
    for name, sku, lasts, before, message in REPLENISHMENT_RULES:
        ReplenishmentRule.objects.get_or_create(
            name=name,
            defaults={"sku": sku, "interval_days": lasts, "remind_days_before": before,
                      **per_language({"message": message})},
        )  # fmt: skip
    WinbackOffer.objects.get_or_create(
        name="We miss you: 15 % off",
        defaults={"inactive_days": 150, "valid_days": 45, **per_language(WINBACK_TEXTS)},
    )
    segment, created = Segment.objects.get_or_create(
        name="Platinum members who said yes to email",
        defaults={"description": "For the spring collection preview.", "email_consent": "yes"},
    )
    if created:
        segment.tiers.set(Tier.objects.filter(threshold__gte=15000))
    WebhookSubscription.objects.get_or_create(
        shop=nok, url="https://nordlys-sport.example.com/klubb/webhooks",
        defaults={"secret": "whsec_demo-nordlys-sport", "events": ["points.changed", "tier.changed"],
                  "is_active": False},  # switched off: the demo has no receiver to send to
    )  # fmt: skip


def _person(rng: random.Random, number: int, domain: str) -> tuple[str, str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return f"{first.lower()}.{last.lower().replace('ö', 'o')}{number}@{domain}", first, last


def _order(
    *, rng: random.Random, order_id: str, email: str, shop: Shop, when: dt.datetime, codes: tuple[str, ...] = ()
) -> OrderInput:
    lines = [rng.choice(CATEGORIES) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
    rate = Decimal("1.0") if shop.currency == Currency.NOK else Decimal("1.05")
    items = tuple(
        OrderItem(sku=f"{category[:3].upper()}-{price}", name=name, category=category, quantity=1,
                  unit_price=(Decimal(price) * rate).quantize(Decimal("1")))
        for category, name, price in lines
    )  # fmt: skip
    amount = sum((item.unit_price for item in items), Decimal("0.00")).quantize(Decimal("0.01"))
    return OrderInput(
        order_id=order_id, member=MemberRef(email=email), amount=amount, tax=(amount / 5).quantize(Decimal("0.01")),
        currency=shop.currency, occurred_at=when, items=items, discount_codes=codes,
    )  # fmt: skip


def demo_history_seed(*, now: dt.datetime, staff: User) -> DemoReport:
    """The year of history; the caller runs it once (it is not written to be run again)."""
    rng = random.Random(SEED)
    report = DemoReport()
    nok, sek = demo_shops()
    demo_campaigns(now=now, nok=nok, sek=sek)
    people: list[tuple[str, str, str, Shop, dt.datetime]] = []
    rows: dict[str, list[tuple[int, OrderInput]]] = {nok.slug: [], sek.slug: []}
    for number in range(1, HISTORY_MEMBERS + 1):
        shop = sek if number % 3 == 0 else nok
        email, first, last = _person(rng, number, "example.se" if shop is sek else "example.com")
        joined = now - dt.timedelta(days=rng.randint(20, 400), hours=rng.randint(0, 23))
        people.append((email, first, last, shop, joined))
        churned = rng.random() < 0.25  # stopped buying: the win-back offer's audience
        last_day = max(1, int((now - joined).days * (0.3 if churned else 1.0)))
        for n in range(rng.choice((1, 1, 2, 2, 3, 4, 5, 7, 9))):
            when = joined + dt.timedelta(days=rng.randint(0, last_day), minutes=rng.randint(30, 600))
            if when > now - dt.timedelta(days=1):
                continue
            order_id = f"{'N' if shop is nok else 'F'}-{number:03d}{n}"
            rows[shop.slug].append((len(rows[shop.slug]) + 1, _order(rng=rng, order_id=order_id, email=email,
                                                                    shop=shop, when=when)))  # fmt: skip
    for shop in (nok, sek):
        imported = orders_import(shop=shop, rows=rows[shop.slug])
        report.orders += imported.imported
        report.members += imported.members_enrolled
        report.notes.extend(f"{shop.slug} line {line}: {code} {message}" for line, code, message, _f in imported.errors)
    _history_members_dated(people=people)
    _refunds(rng=rng, now=now, rows=rows, shops=(nok, sek), report=report)
    _consents(rng=rng, emails=[email for email, *_rest in people])
    report.expired = points_expire(now=now).points
    _live_members(rng=rng, now=now, shops=(nok, sek), report=report)
    _events(rng=rng, now=now, shop=nok, emails=[email for email, *_rest in people[:60]])
    _vouchers(rng=rng, now=now, shop=nok)
    _checkout(rng=rng, now=now, shop=nok)
    _winback(rng=rng, now=now, shops=(nok, sek))
    _replenishment(now=now, shop=nok)
    _adjustments(staff=staff)
    segment_message_send(
        segment=Segment.objects.get(name="Platinum members who said yes to email"), staff=staff,
        subject="A first look at the spring collection", text="The spring collection is in, and members see it first.",
    )  # fmt: skip
    hooks.demo_seed(now=now, shops=(nok, sek), staff=staff)
    return report


def _history_members_dated(*, people: list[tuple[str, str, str, Shop, dt.datetime]]) -> None:
    """The imported members joined when the history says (the import enrols them now): their first order's
    day or the drawn date, whichever is first; their language is their shop's."""
    first_orders = {
        email: when
        for email, when in Order.objects.filter(member__user__email__in=[p[0] for p in people])
        .order_by("-occurred_at")
        .values_list("member__user__email", "occurred_at")
    }
    for email, _first, _last, shop, joined in people:
        when = min(joined, first_orders.get(email, joined))
        Member.objects.filter(user__email=email).update(
            enrolled_at=when, source=Member.Source.IMPORT, language="sv" if shop.currency == Currency.SEK else "nb"
        )
        User.objects.filter(email=email).update(date_joined=when)


def _refunds(
    *,
    rng: random.Random,
    now: dt.datetime,
    rows: dict[str, list[tuple[int, OrderInput]]],
    shops: tuple[Shop, Shop],
    report: DemoReport,
) -> None:
    """About one order in 16 came back, in full or half, a few days after it was placed, with the goods returned
    (all of them, or the first) and a reason that fits what they were (the dashboard's returns). The reasons,
    goods and dates are drawn from a generator of their own, so the rest of the demo stays as it was."""
    why = random.Random(SEED + 17)
    for shop in shops:
        for _line, order in rows[shop.slug]:
            if rng.random() < 0.06:
                share = rng.choice((Decimal("1"), Decimal("0.5")))
                goods = order.items if share == 1 else order.items[:1]
                reason, note = why.choice(RETURN_REASONS[goods[0].category])
                happened = min(order.occurred_at + dt.timedelta(days=why.randint(2, 21), hours=why.randint(0, 9)),
                               now - dt.timedelta(hours=1))  # fmt: skip
                details = RefundDetails(
                    occurred_at=happened, reason=reason, note=note,
                    items=tuple(ReturnedItem(sku=item.sku, quantity=item.quantity) for item in goods),
                )  # fmt: skip
                refund_record(shop=shop, order_id=order.order_id, refund_id=f"R-{order.order_id}",
                              amount=(order.amount * share).quantize(Decimal("0.01")), details=details)  # fmt: skip
                report.refunds += 1


def _consents(*, rng: random.Random, emails: list[str]) -> None:
    members = {m.user.email: m for m in Member.objects.select_related("user").filter(user__email__in=emails)}
    wording = "Yes, send me offers and news from Nordlys Klubb by email."
    for email in emails:
        if rng.random() < 0.55:
            consent_set(member=members[email], channel=ConsentChannel.EMAIL, granted=True,
                        source=ConsentSource.IMPORT, wording=wording)  # fmt: skip
        if rng.random() < 0.2:
            consent_set(member=members[email], channel=ConsentChannel.SMS, granted=True,
                        source=ConsentSource.IMPORT, wording="Yes, send me offers by SMS.")  # fmt: skip


def _live_members(*, rng: random.Random, now: dt.datetime, shops: tuple[Shop, Shop], report: DemoReport) -> None:
    """Members who joined in the last weeks (sign-up points) and ordered live: pending points, messages."""
    for number in range(1, LIVE_MEMBERS + 1):
        shop = shops[number % 2]
        domain = "example.se" if shop.currency == Currency.SEK else "example.com"
        email, first, last = _person(rng, 500 + number, domain)
        member, _created = member_enrol(email=email, first_name=first, last_name=last, source=Member.Source.PORTAL,
                                        language="sv" if shop.currency == Currency.SEK else "nb")  # fmt: skip
        report.members += 1
        # They signed up in the shop's checkout: the shop knows them by its own customer id.
        shop_customer_link(shop=shop, member=member, external_id=f"{shop.slug[:3]}-cust-{1000 + number}")
        if rng.random() < 0.6:
            consent_set(member=member, channel=ConsentChannel.EMAIL, granted=True, source=ConsentSource.PORTAL,
                        wording="Yes, send me offers and news from Nordlys Klubb by email.")  # fmt: skip
        for n in range(rng.choice((0, 1, 1, 2))):
            when = now - dt.timedelta(days=rng.randint(1, 20), hours=rng.randint(1, 20))
            prefix = "N" if shop.currency == Currency.NOK else "F"
            order_record(shop=shop, order=_order(rng=rng, order_id=f"{prefix}-L{number:02d}{n}", email=email,
                                                 shop=shop, when=when))  # fmt: skip
            report.orders += 1


def _events(*, rng: random.Random, now: dt.datetime, shop: Shop, emails: list[str]) -> None:
    for number, email in enumerate(rng.sample(emails, 25), start=1):
        event_record(
            shop=shop, event_type=EVENT_TYPE, key=f"demo-review-{number}", member=MemberRef(email=email),
            occurred_at=now - dt.timedelta(days=rng.randint(1, 60)),
            data={"sku": rng.choice(CATEGORIES)[0].upper(), "rating": rng.randint(3, 5)},
        )  # fmt: skip


def _rich_members(*, minimum: int, count: int) -> list[Member]:
    return list(
        Member.objects.select_related("user")
        .filter(points__balance__gte=minimum + 500, source=Member.Source.IMPORT)
        .order_by("pk")[:count]
    )


def _vouchers(*, rng: random.Random, now: dt.datetime, shop: Shop) -> None:
    """Rewards redeemed for vouchers; about half of them used at the shop."""
    rewards = list(Reward.objects.order_by("points_cost"))
    # Kari, the portal's demo login, has free shipping waiting: the README's voucher example checks and uses it.
    kari = Member.objects.get(user__email="kari@example.com")
    reward_redeem(member=kari, reward=Reward.objects.get(name_en="Free shipping"), request_key="demo-kari")
    for number, member in enumerate(_rich_members(minimum=1500, count=16), start=1):
        reward = rewards[number % len(rewards)]
        voucher = reward_redeem(member=member, reward=reward, request_key=f"demo-{number}")
        if number % 2:
            voucher_use(shop=shop, code=voucher.code, order_id=f"N-V{number:02d}")


def _checkout(*, rng: random.Random, now: dt.datetime, shop: Shop) -> None:
    """Points spent at the checkout: reserved, then captured by the order that carries the code, or released."""
    for number, member in enumerate(_rich_members(minimum=1000, count=30)[-6:], start=1):
        redemption = redemption_reserve(shop=shop, redemption_id=f"demo-checkout-{number}", member=member, points=500)
        if number == 6:
            redemption_release(shop=shop, redemption_id=f"demo-checkout-{number}")
            continue
        order = _order(rng=rng, order_id=f"N-C{number:02d}", email=member.user.email, shop=shop,
                       when=now - dt.timedelta(minutes=5 * number), codes=(redemption.redemption.code,))  # fmt: skip
        order_record(shop=shop, order=order)


def _winback(*, rng: random.Random, now: dt.datetime, shops: tuple[Shop, Shop]) -> None:
    """The win-back job's codes, sent a month ago; some members came back and used theirs."""
    with transaction.atomic():
        winback_send(now=now - dt.timedelta(days=30))
    codes = list(Voucher.objects.filter(winback_offer__isnull=False, status=VoucherStatus.ISSUED).select_related(
        "member__user").order_by("pk"))  # fmt: skip
    for number, voucher in enumerate(codes[:: max(1, len(codes) // 6)][:6], start=1):
        shop = next((s for s in shops if Order.objects.filter(shop=s, member=voucher.member).exists()), shops[0])
        order = _order(rng=rng, order_id=f"{'N' if shop is shops[0] else 'F'}-W{number:02d}",
                       email=voucher.member.user.email, shop=shop,
                       when=now - dt.timedelta(days=rng.randint(2, 25)), codes=(voucher.code,))  # fmt: skip
        order_record(shop=shop, order=order)


def _replenishment(*, now: dt.datetime, shop: Shop) -> None:
    """Running shoes bought about five months ago by members who said yes to offers by email: each got the
    reminder from the job on its day in the last three weeks, and every third bought a new pair within days (the
    dashboard's share followed). Their new pairs, and the live orders' shoes and wax, have reminders scheduled."""
    members = list(
        Member.objects.select_related("user")
        .filter(source=Member.Source.IMPORT, email_marketing=True, orders__shop=shop)
        .distinct()
        .order_by("pk")[:12]
    )
    shoe = OrderItem(sku="RUN-899", name="Running shoe", category="running", quantity=1, unit_price=Decimal("899"))
    for number, member in enumerate(members, start=1):
        order_record(shop=shop, order=_replenished(order_id=f"N-S{number:02d}", member=member, shop=shop, item=shoe,
                                                   when=now - dt.timedelta(days=156 + number, hours=2)))  # fmt: skip
    for days_ago in range(20, 0, -1):  # the hourly job, once a day here
        replenishment_remind(now=now - dt.timedelta(days=days_ago))
    sent = ReplenishmentReminder.objects.filter(order__external_id__startswith="N-S", sent_at__isnull=False)
    for number, reminder in enumerate(sent.select_related("member__user").order_by("pk")[::3], start=1):
        again = reminder.sent_at + dt.timedelta(days=3)
        order_record(shop=shop, order=_replenished(order_id=f"N-SA{number:02d}", member=reminder.member, shop=shop,
                                                   item=shoe, when=again))  # fmt: skip


def _replenished(*, order_id: str, member: Member, shop: Shop, item: OrderItem, when: dt.datetime) -> OrderInput:
    return OrderInput(
        order_id=order_id, member=MemberRef(email=member.user.email), amount=item.unit_price,
        tax=(item.unit_price / 5).quantize(Decimal("0.01")), currency=shop.currency, occurred_at=when, items=(item,),
    )  # fmt: skip


def _adjustments(*, staff: User) -> None:
    """Corrections by staff, with who and why."""
    members = list(Member.objects.filter(source=Member.Source.IMPORT).order_by("pk")[3:6])
    reasons = ["Goodwill: parcel arrived late", "Points for an in-store purchase without the app",
               "Goodwill: wrong size sent"]  # fmt: skip
    for member, reason, points in zip(members, reasons, (200, 349, 150), strict=True):
        points_adjust(member=member, points=points, staff=staff, reason=reason)
