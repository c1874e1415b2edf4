"""Reads of the points engine. Pages and the API both use these, so members see one truth."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from loyalty import hooks
from loyalty.models import (
    ConsentFilter,
    EntryKind,
    LedgerEntry,
    Order,
    PointsAccount,
    PointsLot,
    Programme,
    Redemption,
    RedemptionStatus,
    ReferralFilter,
    Refund,
    ReturnReason,
    Reward,
    Segment,
    Shop,
    ShopCustomer,
    Tier,
    Voucher,
    VoucherStatus,
    WinbackOffer,
    customer_of,
)
from loyalty.rewards import CheckoutTerms, checkout_terms
from loyalty.rewards.catalogue import voucher_code_normalise
from loyalty.tiers import tier_for_points, tier_points
from members.emails import email_canonical
from members.models import Member


@dataclass(frozen=True)
class Standing:
    """Where a member stands: what they have, their tier, and what they get next."""

    balance: int
    tier: Tier | None
    next_tier: Tier | None
    tier_points: int
    points_to_next_tier: int
    progress_percent: int
    window_months: int | None
    reserved: int = 0  # held for checkouts not completed yet: already out of the balance, back if released
    pending: int = 0  # in the balance, spendable once the return window of the orders that earned them passes

    @property
    def spendable(self) -> int:
        """What the member can spend now."""
        return max(0, self.balance - self.pending)


def member_standing(*, member: Member, programme: Programme | None = None, tiers: list[Tier] | None = None) -> Standing:
    """Balance, what is reserved at checkouts, tier, next tier and progress towards it, in at most five queries.

    Progress is measured from the current tier's threshold to the next one, so the bar starts
    empty at each new tier.
    """
    programme = programme or Programme.load()
    tiers = tiers if tiers is not None else list(Tier.objects.order_by("threshold"))
    account = PointsAccount.objects.select_related("tier").filter(member=member).first()
    balance = account.balance if account else 0
    qualifying = tier_points(member_id=member.pk, programme=programme)
    tier = account.tier if account and account.tier else tier_for_points(points=0, tiers=tiers)
    floor = tier.threshold if tier else 0
    next_tier = next((t for t in tiers if t.threshold > floor), None)
    if next_tier is None:
        needed, percent = 0, 100
    else:
        needed = max(next_tier.threshold - qualifying, 0)
        span = next_tier.threshold - floor
        percent = min(100, max(0, (qualifying - floor) * 100 // span)) if span else 100
    reserved = (
        Redemption.objects.filter(member=member, status=RedemptionStatus.RESERVED).aggregate(n=Sum("points"))["n"] or 0
    )
    return Standing(
        reserved=reserved,
        pending=account.pending if account else 0,
        balance=balance,
        tier=tier,
        next_tier=next_tier,
        tier_points=qualifying,
        points_to_next_tier=needed,
        progress_percent=percent,
        window_months=programme.tier_window_months,
    )


def member_entries(*, member: Member) -> QuerySet[LedgerEntry]:
    """The member's ledger by when each thing happened (``occurred``), newest first, with what each entry refers
    to; confirmations, which move no points (an order's tier points counting once its return window passed), are
    for staff.

    An entry happened at its ``effective_at`` (an order's points: the order's date, not when the shop reported it),
    except a refund's: its ``effective_at`` is the order's date, so that a tier loses the points in the window that
    counted them, but the member sees the refund on the day it happened (the refund's ``occurred_at``).
    """
    return (
        LedgerEntry.objects.filter(member=member)
        .annotate(occurred=Coalesce("refund__occurred_at", "effective_at"))
        .exclude(kind=EntryKind.CONFIRM)
        .select_related(
            "order__shop",
            "refund__order__shop",
            "refund__reason",
            "staff",
            "voucher__reward",
            "cancelled_voucher",
            "lot",
            "redemption__shop",
            "corrects__redemption__shop",
        )
        .order_by("-occurred", "-id")
    )


@dataclass(frozen=True)
class Expiry:
    """Points that expire together: the member's oldest open points lots, on the first day any expires."""

    points: int
    expires_at: datetime


def member_next_expiry(*, member: Member) -> Expiry | None:
    """The points that expire next and when (the lots expiring on that same day), or ``None`` if none will."""
    lots = PointsLot.objects.filter(
        member=member, remaining__gt=0, expires_at__gt=timezone.now(), available_at__isnull=True
    ).order_by("expires_at")
    first = lots.values_list("expires_at", flat=True).first()
    if first is None:
        return None
    same_day = lots.filter(expires_at__date=timezone.localtime(first).date())  # in the club's time zone
    points = same_day.aggregate(total=Sum("remaining"))["total"] or 0
    return Expiry(points=points, expires_at=first)


@dataclass(frozen=True)
class Pending:
    """Points that become spendable on one day."""

    points: int
    available_at: datetime


def member_pending(*, member: Member, limit: int = 3) -> list[Pending]:
    """The member's pending points by the day they become spendable, soonest first (at most ``limit`` days)."""
    lots = PointsLot.objects.filter(member=member, remaining__gt=0, available_at__isnull=False)
    by_day: dict[dt.date, Pending] = {}
    for remaining, available_at in lots.order_by("available_at").values_list("remaining", "available_at"):
        day = timezone.localtime(available_at).date()
        earlier = by_day.get(day)
        by_day[day] = Pending(points=remaining + (earlier.points if earlier else 0),
                              available_at=earlier.available_at if earlier else available_at)  # fmt: skip
    return list(by_day.values())[:limit]


@dataclass(frozen=True)
class CheckoutOffer:
    """What points pay at one shop's checkout."""

    shop: Shop
    terms: CheckoutTerms
    worth: Decimal  # what the member's spendable points pay there (whole steps), 0 below the smallest redemption

    @property
    def example_amount(self) -> Decimal:
        return self.terms.amount_for(self.terms.min_points)


def checkout_offers(*, spendable: int, programme: Programme | None = None) -> list[CheckoutOffer]:
    """Each active shop's checkout terms and what ``spendable`` points pay there, for the rewards page."""
    programme = programme or Programme.load()
    offers = []
    for shop in Shop.objects.filter(is_active=True).order_by("name"):
        terms = checkout_terms(shop=shop, programme=programme)
        usable = spendable - (spendable - terms.min_points) % terms.step_points if spendable >= terms.min_points else 0
        offers.append(CheckoutOffer(shop=shop, terms=terms, worth=terms.amount_for(usable)))
    return offers


def shop_orders(*, shop: Shop) -> QuerySet[Order]:
    return Order.objects.filter(shop=shop).select_related("member").order_by("-created_at", "-id")


def shop_order(*, shop: Shop, order_id: str) -> Order | None:
    return (
        shop_orders(shop=shop)
        .prefetch_related(Prefetch("refunds", Refund.objects.select_related("reason").prefetch_related("lines")))
        .filter(external_id=order_id)
        .first()
    )


def shop_order_exists(*, shop: Shop, order_id: str) -> bool:
    """Whether the shop reported this order (one query; what a platform's webhook asks before it earns)."""
    return Order.objects.filter(shop=shop, external_id=order_id).exists()


def shop_members(
    *,
    shop: Shop,
    sees_all: bool = False,
    email: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
) -> QuerySet[Member]:
    """Members as ``shop`` sees them, oldest first, each with ``this_shop_customers``: its links to this shop.
    Only the shop's customers (``customer_of``), or every member when it ``sees_all`` (``members:all``); erased
    members are not among them.

    Each filter given narrows the list: ``email`` (any case), ``phone`` (E.164) or ``external_id`` (the shop's
    own customer id).
    """
    members = (
        Member.objects.filter(erased_at__isnull=True)
        .select_related("user")
        .prefetch_related(
            Prefetch("shop_customers", queryset=ShopCustomer.objects.filter(shop=shop), to_attr="this_shop_customers")
        )
        .order_by("id")
    )
    if not sees_all:
        members = members.filter(customer_of(shop))
    if email is not None:
        members = members.filter(user__email=email_canonical(email))
    if phone is not None:
        members = members.filter(phone=phone)
    if external_id is not None:
        members = members.filter(shop_customers__shop=shop, shop_customers__external_id=external_id)
    return members


def member_erased(*, shop: Shop, member_id: UUID | str, sees_all: bool = False) -> bool:
    """Whether ``member_id`` named a member who has since had their personal data deleted, and who was ``shop``'s
    customer (any member when it ``sees_all``): other shops learn nothing of the id."""
    erased = Member.objects.filter(public_id=member_id, erased_at__isnull=False)
    return (erased if sees_all else erased.filter(customer_of(shop))).exists()


def shop_member(*, shop: Shop, member_id: UUID | str, sees_all: bool = False) -> Member | None:
    """One member by public id, as ``shop_members`` gives them; ``None`` when there is none."""
    return shop_members(shop=shop, sees_all=sees_all).filter(public_id=member_id).first()


# --- Rewards and vouchers ---------------------------------------------------------------------------


def voucher_by_code(*, code: str) -> Voucher | None:
    """The voucher with this code (case-insensitive, spaces and dashes ignored), or ``None``."""
    return (
        Voucher.objects.select_related("reward", "member", "used_by_shop")
        .filter(code=voucher_code_normalise(code))
        .first()
    )


class OfferState:
    """Why a member can or cannot redeem a reward now, most hopeful first."""

    REDEEMABLE = "redeemable"
    SAVE_UP = "save_up"
    TIER = "tier"
    LIMIT = "limit"
    SOLD_OUT = "sold_out"


@dataclass(frozen=True)
class RewardOffer:
    reward: Reward
    state: str
    points_missing: int
    tiers: tuple[Tier, ...]

    @property
    def redeemable(self) -> bool:
        return self.state == OfferState.REDEEMABLE


def reward_offers(*, member: Member, standing: Standing) -> list[RewardOffer]:
    """The rewards on offer now, each with what stands between the member and it (three queries).

    Checked again, under locks, by ``reward_redeem``: this only tells the member what to expect.
    """
    now = timezone.now()
    rewards = (
        Reward.objects.filter(is_active=True)
        .filter(Q(active_from__isnull=True) | Q(active_from__lte=now))
        .filter(Q(active_until__isnull=True) | Q(active_until__gt=now))
        .prefetch_related("allowed_tiers")
        .order_by("points_cost", "name")
    )
    held = dict(
        Voucher.objects.filter(member=member)
        .exclude(status=VoucherStatus.CANCELLED)
        .values_list("reward_id")
        .annotate(n=Count("id"))
        .values_list("reward_id", "n")
    )
    offers = []
    for reward in rewards:
        tiers = tuple(reward.allowed_tiers.all())
        missing = max(reward.points_cost - standing.balance, 0)
        if reward.stock is not None and reward.stock <= 0:
            state = OfferState.SOLD_OUT
        elif reward.limit_per_member is not None and held.get(reward.pk, 0) >= reward.limit_per_member:
            state = OfferState.LIMIT
        elif tiers and (standing.tier is None or standing.tier.pk not in {t.pk for t in tiers}):
            state = OfferState.TIER
        elif missing:
            state = OfferState.SAVE_UP
        else:
            state = OfferState.REDEEMABLE
        offers.append(RewardOffer(reward=reward, state=state, points_missing=missing, tiers=tiers))
    return offers


def member_vouchers(*, member: Member, unused_only: bool = False) -> QuerySet[Voucher]:
    """The member's vouchers: unused first, then newest first (only the unused ones still valid if asked)."""
    unused_first = Case(When(status=VoucherStatus.ISSUED, then=0), default=1)
    vouchers = Voucher.objects.filter(member=member)
    if unused_only:
        vouchers = vouchers.filter(status=VoucherStatus.ISSUED).exclude(expires_at__lte=timezone.now())
    vouchers = vouchers.select_related("reward", "winback_offer", "used_by_shop")
    return vouchers.order_by(unused_first, "-created_at", "-id")


def winback_offers_with_results(queryset: QuerySet[WinbackOffer]) -> QuerySet[WinbackOffer]:
    """Annotate each offer with ``issued``, ``used`` and ``came_back`` (codes whose member ordered after getting
    it): three subqueries, whatever the number of offers or codes."""
    codes = Voucher.objects.filter(winback_offer=OuterRef("pk")).order_by().values("winback_offer")
    ordered_since = Order.objects.filter(member=OuterRef("member"), occurred_at__gt=OuterRef("created_at"))

    def count(vouchers: QuerySet[Voucher]) -> Coalesce:
        return Coalesce(Subquery(vouchers.annotate(n=Count("pk")).values("n")), 0)

    return queryset.annotate(
        issued=count(codes),
        used=count(codes.filter(status=VoucherStatus.USED)),
        came_back=count(codes.filter(Exists(ordered_since))),
    )


# --- Segments ---------------------------------------------------------------------------------------------


def _day_start(day: dt.date) -> datetime:
    return timezone.make_aware(datetime.combine(day, dt.time.min))


def segment_members(*, segment: Segment) -> QuerySet[Member]:
    """The members a segment's filters match now (empty filters match everyone); erased members never."""
    members = Member.objects.filter(erased_at__isnull=True)
    tier_ids = [tier.pk for tier in segment.tiers.all()]
    if tier_ids:
        members = members.filter(points__tier_id__in=tier_ids)
    interest_ids = [interest.pk for interest in segment.interests.all()]
    if interest_ids:
        chosen = Member.interests.through.objects.filter(member_id=OuterRef("pk"), interest_id__in=interest_ids)
        members = members.filter(Exists(chosen))
    if segment.email_consent:
        members = members.filter(email_marketing=segment.email_consent == ConsentFilter.YES)
    if segment.sms_consent:
        members = members.filter(sms_marketing=segment.sms_consent == ConsentFilter.YES)
    if segment.language:
        members = members.filter(language=segment.language)
    if segment.last_order_after or segment.last_order_before:
        last = Order.objects.filter(member=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")[:1]
        members = members.annotate(last_order_at=Subquery(last))
        if segment.last_order_after:
            members = members.filter(last_order_at__gte=_day_start(segment.last_order_after))
        if segment.last_order_before:
            members = members.filter(last_order_at__lt=_day_start(segment.last_order_before))
    if segment.spend_min is not None or segment.spend_max is not None:
        # Amounts are never added across currencies: a Swedish shop's kronor are not the programme's kroner.
        currency = segment.spend_currency or Programme.load().currency
        orders = Order.objects.filter(member=OuterRef("pk"), currency=currency)
        if segment.spend_from:
            orders = orders.filter(occurred_at__gte=_day_start(segment.spend_from))
        if segment.spend_until:
            orders = orders.filter(occurred_at__lt=_day_start(segment.spend_until))
        spent = orders.values("member").annotate(total=Sum(F("amount") - F("refunded_amount"))).values("total")
        members = members.annotate(spend=Coalesce(Subquery(spent), Value(Decimal("0")), output_field=DecimalField()))
        if segment.spend_min is not None:
            members = members.filter(spend__gte=segment.spend_min)
        if segment.spend_max is not None:
            members = members.filter(spend__lte=segment.spend_max)
    if segment.balance_min is not None or segment.balance_max is not None:
        members = members.annotate(balance_now=Coalesce("points__balance", Value(0)))
        if segment.balance_min is not None:
            members = members.filter(balance_now__gte=segment.balance_min)
        if segment.balance_max is not None:
            members = members.filter(balance_now__lte=segment.balance_max)
    if segment.referrals:
        # Who referred and who was referred, as ``referrals`` tells through ``loyalty.hooks`` (loyalty does not
        # know its tables); with no provider, nobody was.
        referrers, referred = Q(pk__in=[]), Q(pk__in=[])
        for made, joined in hooks.segment_referrals():
            referrers |= Q(pk__in=made)
            referred |= Q(pk__in=joined)
        if segment.referrals == ReferralFilter.REFERRED_FRIENDS:
            members = members.filter(referrers)
        elif segment.referrals == ReferralFilter.WAS_REFERRED:
            members = members.filter(referred)
        else:
            members = members.exclude(referrers).exclude(referred)
    return members


SEGMENT_EXPORT_HEADER = [
    "member_id", "email", "first_name", "last_name", "phone", "language", "tier", "balance",
    "email_marketing", "sms_marketing", "enrolled_at",
]  # fmt: skip


def segment_export_rows(*, segment: Segment) -> Iterator[list[Any]]:
    """The segment's members as CSV rows (header first), read in chunks."""
    yield SEGMENT_EXPORT_HEADER
    members = segment_members(segment=segment).select_related("user", "points__tier").order_by("pk")
    for member in members.iterator(chunk_size=2000):
        account = getattr(member, "points", None)
        yield [
            member.public_id, member.user.email, member.user.first_name, member.user.last_name, member.phone,
            member.language, account.tier.name if account and account.tier else "", account.balance if account else 0,
            member.email_marketing, member.sms_marketing, member.enrolled_at.isoformat(),
        ]  # fmt: skip


def return_reasons_active() -> QuerySet[ReturnReason]:
    """The return reasons shops may send, in staff's order."""
    return ReturnReason.objects.filter(is_active=True).order_by("position", "code")
