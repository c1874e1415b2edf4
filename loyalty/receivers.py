"""Loyalty's receivers of Django and ``members`` signals; ``LoyaltyConfig.ready`` connects them.

A new member's points account (at the entry tier), points for joining and for completing a profile come from
``members`` signals, so ``members`` need not know the points engine; the staff roles' permissions are set again
after every ``migrate``.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from loyalty.campaigns.actions import member_joined_points, profile_saved_points
from loyalty.ledger import account_open
from loyalty.roles import staff_groups_sync
from members.models import Member


def roles_sync(sender: object, **kwargs: object) -> None:
    """Keep the Support and Programme manager groups' permissions as ``loyalty.roles`` lists them."""
    staff_groups_sync(group_model=Group, permission_model=Permission)


def member_joined(sender: type, member: Member, **kwargs: object) -> None:
    """Every new member starts at the entry tier, however they joined (portal, Vipps, a shop's API, an SMS
    sign-up), then gets the sign-up points if the club gives any."""
    account_open(member=member)
    member_joined_points(member=member)


def profile_saved(sender: type, member: Member, **kwargs: object) -> None:
    profile_saved_points(member=member)
