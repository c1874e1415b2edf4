"""The people and shops of the permission tests (``test_permission_matrix.py``, ``test_admin_permissions.py``):
member A and B, shop A and B with API keys, a staff superuser and the two ready staff roles, all with two-factor
authentication, and a client signed in as each; and every URL pattern the project serves."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from loyalty.models import Reward
from loyalty.rewards import redemption_reserve
from loyalty.rewards.catalogue import reward_redeem
from loyalty.roles import PROGRAMME_MANAGER, SUPPORT
from loyalty.shops import api_key_create
from members.models import Member
from tests.conftest import give_two_factor, make_order
from tests.factories import ShopFactory, UserFactory

ACTORS = ("anonymous", "member_a", "member_b", "shop_a", "shop_b", "staff", "support", "manager")
ROLES = {"support": SUPPORT, "manager": PROGRAMME_MANAGER}
OK, REACHED, LOGIN, DENIED = "ok", "reached", "login", "denied"


@dataclass
class World:
    shop_a: Any
    shop_b: Any
    keys: dict[str, str]
    member_a: Member
    member_b: Member
    staff: Any
    roles: dict[str, Any]
    reward: Reward
    voucher_a: Any
    serial: list[int] = field(default_factory=lambda: [0])

    def next(self) -> int:
        self.serial[0] += 1
        return self.serial[0]


@pytest.fixture(name="world")
def world_fixture(tiers, programme) -> World:
    shop_a = ShopFactory(name="Shop A", slug="shop-a")
    shop_b = ShopFactory(name="Shop B", slug="shop-b")
    make_order(shop_a, order_id="A-1", amount="2000.00", email="anna@example.com")
    make_order(shop_b, order_id="B-1", amount="2000.00", email="bjorn@example.com")
    member_a = Member.objects.select_related("user").get(user__email="anna@example.com")
    member_b = Member.objects.select_related("user").get(user__email="bjorn@example.com")
    reward = Reward.objects.create(name="Mug", points_cost=10)
    staff = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    give_two_factor(staff)
    keys = {"shop_a": api_key_create(shop=shop_a)[1], "shop_b": api_key_create(shop=shop_b)[1]}
    roles = {}
    for actor, group in ROLES.items():
        roles[actor] = UserFactory(email=f"{actor}@example.com", is_staff=True)
        roles[actor].groups.add(Group.objects.get(name=group))
        give_two_factor(roles[actor])
    voucher_a = reward_redeem(member=member_a, reward=reward)
    redemption_reserve(shop=shop_a, redemption_id="A-1", member=member_a, points=100)
    return World(shop_a, shop_b, keys, member_a, member_b, staff, roles, reward, voucher_a)


def actor_client(world: World, actor: str) -> Client:
    client = Client()
    if actor in ("shop_a", "shop_b"):
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.keys[actor]}"
    elif actor == "member_a":
        client.force_login(world.member_a.user)
    elif actor == "member_b":
        client.force_login(world.member_b.user)
    elif actor == "staff":
        client.force_login(world.staff)
    elif actor in ROLES:
        client.force_login(world.roles[actor])
    return client


def all_routes() -> list[tuple[str, str | None, str]]:
    """Every URL pattern as (route, name, namespace), walking includes."""

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> list[tuple[str, str | None, str]]:
        found = []
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                space = ":".join(filter(None, [namespace, pattern.namespace or ""]))
                found += walk(pattern, prefix + str(pattern.pattern), space)
            else:
                assert isinstance(pattern, URLPattern)
                found.append((prefix + str(pattern.pattern), pattern.name, namespace))
        return found

    return walk(get_resolver(), "", "")


def route_parameters(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route) + re.findall(r"\(\?P<(\w+)>", route)
