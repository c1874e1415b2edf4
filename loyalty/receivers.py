"""Loyalty's receivers of Django and ``members`` signals; ``LoyaltyConfig.ready`` connects them.

Points for joining and for completing a profile come from ``members`` signals, so ``members`` need not
know the points engine; the staff roles' permissions are set again after every ``migrate``.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from loyalty.campaigns.actions import member_joined_points, profile_saved_points
from loyalty.roles import staff_groups_sync
from members.models import Member


def roles_sync(sender: object, **kwargs: object) -> None:
    """Keep the Support and Programme manager groups' permissions as ``loyalty.roles`` lists them."""
    staff_groups_sync(group_model=Group, permission_model=Permission)


def member_joined(sender: type, member: Member, **kwargs: object) -> None:
    member_joined_points(member=member)


def profile_saved(sender: type, member: Member, **kwargs: object) -> None:
    profile_saved_points(member=member)
