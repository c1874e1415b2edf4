"""What the storefront widget shows: the club to a visitor, and to a member what they have, what they get next
and how to use it. Reads only, through the selectors, in the language the request asked for."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from loyalty import hooks
from loyalty.models import Programme, Storefront, Tier
from loyalty.rewards import checkout_terms
from loyalty.selectors import OfferState, member_pending, member_standing, reward_offers
from members.models import Member

EXAMPLE_AMOUNT = Decimal("100")  # "100 NOK earns 100 points"


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


def storefront_member_summary(*, storefront: Storefront, member: Member, portal_url: str) -> dict[str, Any]:
    """What the member has, what they get next and how to use it at this shop's checkout."""
    standing = member_standing(member=member)
    offers = [offer for offer in reward_offers(member=member, standing=standing) if offer.state != OfferState.SOLD_OUT]
    affordable = [offer for offer in offers if offer.redeemable]
    nearest = next((offer for offer in offers if offer.state == OfferState.SAVE_UP), None)
    terms = checkout_terms(shop=storefront.shop, programme=Programme.load())
    spendable = standing.spendable
    usable = spendable - (spendable - terms.min_points) % terms.step_points if spendable >= terms.min_points else 0
    referral_path = hooks.referral_path(member=member)
    return {
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
        "referral_link": f"{portal_url.rstrip('/')}{referral_path}" if referral_path else None,
        "portal_url": portal_url,
    }
