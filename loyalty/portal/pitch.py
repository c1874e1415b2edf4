"""What the club gives, told to a visitor on the sign-up and log-in pages (``{% club_pitch %}``): a read only."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from loyalty.ledger import tiers_by_threshold
from loyalty.models import ActionKind, PointsAction, Programme, Tier

EXAMPLE_AMOUNT = Decimal("100")  # "100 points for every 100 kr"
PITCH_TIERS = 3  # the entry tier and the next two: a short list, not the whole ladder


@dataclass(frozen=True)
class TierPitch:
    tier: Tier
    benefits: list[str]


@dataclass(frozen=True)
class ClubPitch:
    club: str
    signup_points: int
    birthday_points: int
    example_amount: Decimal
    example_points: int
    currency: str
    tiers: list[TierPitch]


def club_pitch() -> ClubPitch:
    """The club's name, the sign-up and birthday points, the earning rate, and the first tiers with what each
    gives (texts in the active language)."""
    programme = Programme.load()
    signup = PointsAction.objects.filter(kind=ActionKind.SIGNUP, is_active=True).order_by("pk").first()
    tiers = [
        TierPitch(tier=tier, benefits=[benefit.text for benefit in tier.typed_benefits][:2])
        for tier in tiers_by_threshold()[:PITCH_TIERS]
    ]
    return ClubPitch(
        club=settings.KLUBB_CLUB_NAME,
        signup_points=signup.points if signup is not None and signup.points > 0 else 0,
        birthday_points=programme.birthday_bonus,
        example_amount=EXAMPLE_AMOUNT,
        example_points=int(EXAMPLE_AMOUNT * programme.points_per_unit),
        currency=programme.currency,
        tiers=tiers,
    )
