"""Who is a shop's customer: the one rule that decides which members' personal data a shop may see (the API)
and which members' events its webhooks receive (the outbox, which sits below the selectors, reads it here).

A member is a shop's customer when there is a ``ShopCustomer`` row for the two (the shop enrolled the member, or
named them by its own customer id) or the member has an order at the shop. An API key with ``members:all``, or a
webhook subscription staff made club-wide, sees every member instead.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import Exists, OuterRef, Q

from loyalty.models.orders import Order
from loyalty.models.shops import Shop, ShopCustomer


def customer_of(shop: Shop | int, *, member_field: str = "pk") -> Q:
    """A filter on a query whose ``member_field`` is a member's primary key: the member is ``shop``'s customer."""
    shop_id = shop.pk if isinstance(shop, Shop) else shop
    return Q(Exists(ShopCustomer.objects.filter(shop_id=shop_id, member_id=OuterRef(member_field)))) | Q(
        Exists(Order.objects.filter(shop_id=shop_id, member_id=OuterRef(member_field)))
    )


def customer_pairs(*, shop_ids: Collection[int], member_ids: Collection[Any]) -> set[tuple[int, int]]:
    """``(shop id, member id)`` for each of ``member_ids`` who is the customer of one of ``shop_ids`` (two
    queries, whatever the numbers)."""
    if not shop_ids or not member_ids:
        return set()
    found = set(
        ShopCustomer.objects.filter(shop_id__in=shop_ids, member_id__in=member_ids).values_list("shop_id", "member_id")
    )
    found |= set(
        Order.objects.filter(shop_id__in=shop_ids, member_id__in=member_ids)
        .values_list("shop_id", "member_id")
        .distinct()
    )
    return found
