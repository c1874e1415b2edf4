"""factory_boy factories for the test suite. Points only ever come from services, never factories."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from loyalty.models import Currency, Shop, Tier
from members.models import Member, User


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"member{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pw-for-tests-123")


class MemberFactory(DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory)
    language = "nb"


class ShopFactory(DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    currency = Currency.NOK
    shopify_webhook_secret = "shopify-secret"
    woocommerce_webhook_secret = "woo-secret"


class TierFactory(DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Tier {n}")
    threshold = factory.Sequence(lambda n: n * 1000)
    multiplier = Decimal("1.00")
    colour = "#336699"
