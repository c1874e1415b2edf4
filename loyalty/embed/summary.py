"""What the storefront widget shows: the club to a visitor, and to a member what they have, what they get next
and how to use it. Reads only, through the selectors, in the language the request asked for."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Min, Q
from django.utils import timezone, translation

from config.snapshots import SNAPSHOT_SECONDS, config_generation, config_watch
from loyalty import hooks
from loyalty.models import Programme, RedemptionStatus, Reward, Storefront, Tier, VoucherStatus
from loyalty.orders import order_programme
from loyalty.rewards import checkout_terms
from loyalty.selectors import OfferState, member_pending, member_standing, reward_offers
from loyalty.tiers import tier_window_start
from members.models import Member

EXAMPLE_AMOUNT = Decimal("100")  # "100 NOK earns 100 points"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # the start of a lifetime tier window


def _tier_data(tier: Tier) -> dict[str, Any]:
    return {
        "name": str(tier.name),
        "colour": tier.colour,
        "threshold": tier.threshold,
        "multiplier": str(tier.multiplier),
        "benefits": [line.strip() for line in str(tier.benefits or "").splitlines() if line.strip()],
        "free_shipping": tier.free_shipping,
        "percent_off": str(tier.percent_off) if tier.percent_off else None,
    }


def storefront_config(*, storefront: Storefront, portal_url: str) -> dict[str, Any]:
    """The club as a visitor sees it: what it gives, how to earn, and where to join or log in."""
    programme = Programme.load()
    shop = storefront.shop
    rate = shop.points_per_unit if shop.points_per_unit is not None else programme.points_per_unit
    terms = checkout_terms(shop=shop, programme=programme)
    return {
        "club": settings.KLUBB_CLUB_NAME,
        "shop": shop.name,
        "looks": {"accent_colour": storefront.accent_colour, "position": storefront.position},
        "join_url": storefront.join_url or f"{portal_url}accounts/signup/",
        "login_url": storefront.login_url or f"{portal_url}accounts/login/",
        "earning": {
            "currency": shop.currency,
            "example_amount": str(EXAMPLE_AMOUNT),
            "example_points": int(EXAMPLE_AMOUNT * rate),
            "birthday_bonus": programme.birthday_bonus,
        },
        "checkout": terms.as_data(),
        "tiers": [_tier_data(tier) for tier in Tier.objects.order_by("threshold")],
    }


def _with_portal(summary: dict[str, Any], *, referral_path: str | None, portal_url: str) -> dict[str, Any]:
    """The summary with the links into the portal this request is served from."""
    return {
        **summary,
        "referral_link": f"{portal_url.rstrip('/')}{referral_path}" if referral_path else None,
        "portal_url": portal_url,
    }


def _member_summary(*, storefront: Storefront, member: Member) -> tuple[dict[str, Any], str | None]:
    """The summary composed from the selectors, without the portal's links, and the path of the member's referral
    link (if any)."""
    standing = member_standing(member=member)
    offers = [offer for offer in reward_offers(member=member, standing=standing) if offer.state != OfferState.SOLD_OUT]
    affordable = [offer for offer in offers if offer.redeemable]
    nearest = next((offer for offer in offers if offer.state == OfferState.SAVE_UP), None)
    terms = checkout_terms(shop=storefront.shop, programme=Programme.load())
    spendable = standing.spendable
    usable = spendable - (spendable - terms.min_points) % terms.step_points if spendable >= terms.min_points else 0
    summary = {
        "member": {"first_name": member.user.first_name, "language": member.language},
        "points": {
            "balance": standing.balance,
            "spendable": spendable,
            "pending": standing.pending,
            "reserved": standing.reserved,
        },
        "pending": [
            {"points": p.points, "available_at": p.available_at.isoformat()} for p in member_pending(member=member)
        ],
        "tier": _tier_data(standing.tier) if standing.tier else None,
        "next_tier": (
            {
                "name": str(standing.next_tier.name),
                "points_to_go": standing.points_to_next_tier,
                "progress_percent": standing.progress_percent,
            }
            if standing.next_tier
            else None
        ),
        "rewards": {
            "affordable": [{"name": str(o.reward.name), "points_cost": o.reward.points_cost} for o in affordable],
            "nearest": (
                {
                    "name": str(nearest.reward.name),
                    "points_cost": nearest.reward.points_cost,
                    "points_missing": nearest.points_missing,
                }
                if nearest
                else None
            ),
        },
        "checkout": {**terms.as_data(), "usable_points": usable, "usable_amount": str(terms.amount_for(usable))},
    }
    return summary, hooks.referral_path(member=member)


# --- Kept in the cache --------------------------------------------------------------------------------------
#
# The widget asks for the summary on every page a signed-in member opens, and composing it takes about a dozen
# queries. So it is kept in the project's cache under everything it is made from, read in one query
# (``SummaryState``): whatever changes the summary changes that state, and a changed state is another key, so a
# kept summary is never read after the member's points, tier or checkout holds moved, in any process. What staff
# set (the programme, tiers, rewards, the shop's checkout terms, the referral programme) is in the key as this
# process's ``config_generation``: a change bites at once in the process that made it and, as everywhere else
# that reads settings kept per process (config/snapshots.py), within ``SUMMARY_SECONDS`` in the others, however
# long a summary was kept. A summary is never kept past a reward's window opening or closing either.

SUMMARY_SECONDS = SNAPSHOT_SECONDS
_PROCESS = uuid.uuid4().hex  # with the process id: one process's generation says nothing about another's


@dataclass(frozen=True)
class SummaryState:
    """Everything a member's summary is made from that the member's own activity moves, read in one query.

    The counts only ever grow (ledger entries are never changed or deleted; a reservation only leaves
    ``reserved`` and a voucher only becomes cancelled), so the same counts mean nothing happened in between.
    """

    member_id: int
    first_name: str
    language: str
    balance: int | None  # the account's (``None``: no account yet)
    pending: int | None
    tier_id: int | None
    entries: int  # ledger entries: balance moves, tier points, pending points becoming spendable
    tier_points: int  # in the tier window as of now: entries leave it as time passes
    redemptions: int  # checkout reservations made
    redemptions_settled: int  # of those, captured or released (no longer ``reserved``)
    vouchers: int  # vouchers issued (the rewards' limits per member)
    vouchers_cancelled: int
    sold_out: str  # the rewards out of stock (any member's redemption moves a reward's stock)

    def cache_key(self, *, storefront: Storefront) -> str:
        digest = hashlib.blake2b(repr(self).encode(), digest_size=16).hexdigest()
        return (
            f"embed-summary:{_PROCESS}-{os.getpid()}:{config_generation()}:{storefront.pk}:"
            f"{translation.get_language()}:{digest}"
        )


def _state_sql(vendor: str) -> str:
    sold_out = (
        "(SELECT string_agg(r.id::text, ',' ORDER BY r.id) FROM loyalty_reward r WHERE r.stock <= 0)"
        if vendor == "postgresql"
        else "(SELECT group_concat(id) FROM (SELECT r.id FROM loyalty_reward r WHERE r.stock <= 0 ORDER BY r.id))"
    )
    return f"""
        SELECT m.id, u.first_name, m.language, a.balance, a.pending, a.tier_id,
            (SELECT count(*) FROM loyalty_ledgerentry e WHERE e.member_id = m.id),
            (SELECT coalesce(sum(e.tier_points), 0) FROM loyalty_ledgerentry e
                WHERE e.member_id = m.id AND e.effective_at >= %s),
            (SELECT count(*) FROM loyalty_redemption d WHERE d.member_id = m.id),
            (SELECT count(*) FROM loyalty_redemption d WHERE d.member_id = m.id AND d.status <> %s),
            (SELECT count(*) FROM loyalty_voucher v WHERE v.member_id = m.id),
            (SELECT count(*) FROM loyalty_voucher v WHERE v.member_id = m.id AND v.status = %s),
            {sold_out}
        FROM members_member m
        JOIN members_user u ON u.id = m.user_id
        LEFT JOIN loyalty_pointsaccount a ON a.member_id = m.id
        WHERE m.public_id = %s AND m.erased_at IS NULL AND u.is_active
    """


def summary_state(*, public_id: str) -> SummaryState | None:
    """The state of the active member with ``public_id`` that their summary is made from, in one query (a raw
    one: it runs on every page view, and building it with the ORM costs more than PostgreSQL answering it);
    ``None`` when no active member has that id."""
    window_start = tier_window_start(programme=order_programme()) or EPOCH
    params = [
        connection.ops.adapt_datetimefield_value(window_start),
        RedemptionStatus.RESERVED,
        VoucherStatus.CANCELLED,
        Member._meta.get_field("public_id").get_db_prep_value(public_id, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_state_sql(connection.vendor), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return SummaryState(*row[:-1], sold_out=row[-1] or "")


def storefront_member_summary(*, storefront: Storefront, public_id: str, portal_url: str) -> dict[str, Any] | None:
    """What the active member with ``public_id`` has, what they get next and how to use it at this shop's checkout;
    ``None`` when there is no such member. From the cache when their state has not changed since it was kept (one
    query and one cache read), else composed from the selectors and kept."""
    state = summary_state(public_id=public_id)
    if state is None:
        return None
    key = state.cache_key(storefront=storefront)
    kept = cache.get(key)
    if kept is None:
        member = Member.objects.select_related("user").get(pk=state.member_id)
        summary, referral_path = _member_summary(storefront=storefront, member=member)
        kept = {"summary": summary, "referral_path": referral_path}
        # Kept only if nothing moved while it was composed (the member's state, or a setting: the referral
        # programme is made the first time it is read): it then shows exactly what its key names.
        after = summary_state(public_id=public_id)
        if after == state and after.cache_key(storefront=storefront) == key:
            cache.set(key, kept, timeout=_seconds_to_keep())
    return _with_portal(kept["summary"], referral_path=kept["referral_path"], portal_url=portal_url)


def _seconds_to_keep() -> float:
    """``SUMMARY_SECONDS``, or less when a reward's window opens or closes sooner (its offer changes then)."""
    now = timezone.now()
    windows = Reward.objects.filter(is_active=True).aggregate(
        opens=Min("active_from", filter=Q(active_from__gt=now)),
        closes=Min("active_until", filter=Q(active_until__gt=now)),
    )
    moments = [moment for moment in windows.values() if moment is not None]
    if not moments:
        return SUMMARY_SECONDS
    return max(0.0, min(SUMMARY_SECONDS, (min(moments) - now).total_seconds()))


# The rewards on offer are read afresh, not kept in a snapshot: their changes count in the generation too (the
# referral programme's are counted by ``referrals``, which gives the referral link).
config_watch(sources=[Reward])
