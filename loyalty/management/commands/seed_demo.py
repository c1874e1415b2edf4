"""Demo data for ``make run``: a programme, four tiers, a shop with a known API key, staff and members.

Idempotent: running it again adds nothing. It creates accounts with published passwords, so it
refuses to run unless DEBUG is on (or ``--force`` is given).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from loyalty.models import ApiKey, Currency, Order, Programme, Reward, Shop, Tier
from loyalty.services import MemberRef, OrderInput, OrderItem, api_key_create, order_record
from members.models import Interest, Member, User
from members.services import member_enrol

DEMO_API_KEY = "klb_demo0001_nordlys-sport-demo-key"
DEMO_WEBHOOK_SECRET = "demo-webhook-secret"
STAFF_EMAIL, STAFF_PASSWORD = "admin@klubb.test", "klubb-demo-admin"
# Staff need two-factor authentication; the demo staff account's authenticator secret is published too.
# Add it to an authenticator app, or print the current code with `manage.py demo_totp`.
STAFF_TOTP_SECRET = "KLUBBDEMOTOTPSECRETKLUBBDEMO2345"
DEMO_INTERESTS = [
    ("running", "Running"),
    ("skiing", "Skiing"),
    ("hiking", "Hiking"),
    ("tennis", "Tennis"),
    ("golf", "Golf"),
]
DEMO_REWARDS = [
    # name, points cost, stock, description, how to use
    (
        "100 kr gift card",
        1000,
        None,
        "100 kr off your next order.",
        "Type the code at checkout, or show it at the till.",
    ),
    ("Free shipping", 300, None, "Free delivery on one order.", "Type the code at checkout."),
    ("Running socks", 1500, 50, "A pair of Nordlys running socks.", "Show the code at the till or add it to an order."),
]
MEMBER_PASSWORD = "klubb-demo"

TIERS = [
    ("Bronze", 0, "1.00", "#9a5b2e", "Member prices on selected products\nBirthday surprise"),
    ("Silver", 2000, "1.25", "#6e7781", "25% extra points on every order\nFree returns"),
    ("Gold", 5000, "1.50", "#a67c00", "50% extra points on every order\nFree shipping\nEarly access to sales"),
    ("Platinum", 15000, "2.00", "#3b3f4a", "Double points on every order\nFree shipping\nPersonal shopper"),
]

# (email, first name, last name, language, [(order id, amount, days ago)])
MEMBERS = [
    (
        "kari@example.com",
        "Kari",
        "Nordmann",
        "nb",
        [("D-1001", "1890.00", 200), ("D-1002", "1299.00", 60), ("D-1003", "560.00", 9)],
    ),
    ("ola@example.com", "Ola", "Hansen", "nb", [("D-2001", "449.00", 30)]),
    ("astrid@example.com", "Astrid", "Lindqvist", "sv", [("D-3001", "3990.00", 120), ("D-3002", "2490.00", 15)]),
]


class Command(BaseCommand):
    help = "Load the demo programme, shop, staff user and members (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("seed_demo creates accounts with published passwords; it runs only with DEBUG on.")
        with transaction.atomic():
            programme = Programme.load()
            if programme.name == "Klubb":
                programme.name = "Nordlys Klubb"
                programme.save()
            for name, threshold, multiplier, colour, benefits in TIERS:
                Tier.objects.get_or_create(
                    name=name,
                    defaults={
                        "threshold": threshold,
                        "multiplier": Decimal(multiplier),
                        "colour": colour,
                        "benefits": benefits,
                    },
                )
            shop, _ = Shop.objects.get_or_create(
                slug="nordlys-sport",
                defaults={
                    "name": "Nordlys Sport",
                    "currency": Currency.NOK,
                    "shopify_webhook_secret": DEMO_WEBHOOK_SECRET,
                    "woocommerce_webhook_secret": DEMO_WEBHOOK_SECRET,
                },
            )
            if not ApiKey.objects.filter(prefix=DEMO_API_KEY[:12]).exists():
                api_key_create(shop=shop, name="demo", raw_key=DEMO_API_KEY)
            staff = User.objects.filter(email=STAFF_EMAIL).first()
            if staff is None:
                staff = User.objects.create_superuser(
                    email=STAFF_EMAIL, password=STAFF_PASSWORD, first_name="Demo", last_name="Admin"
                )
            EmailAddress.objects.get_or_create(
                user=staff, email=STAFF_EMAIL, defaults={"verified": True, "primary": True}
            )
            if not Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(staff, STAFF_TOTP_SECRET)
            for order, (slug, name) in enumerate(DEMO_INTERESTS):
                Interest.objects.get_or_create(slug=slug, defaults={"name": name, "sort_order": order})
            for name, cost, stock, description, how_to_use in DEMO_REWARDS:
                Reward.objects.get_or_create(
                    name=name,
                    defaults={
                        "points_cost": cost,
                        "stock": stock,
                        "description": description,
                        "how_to_use": how_to_use,
                    },
                )
        now = timezone.now()
        for email, first, last, language, orders in MEMBERS:
            member, created = member_enrol(
                email=email, first_name=first, last_name=last, language=language, source=Member.Source.STAFF
            )
            if created:
                member.user.set_password(MEMBER_PASSWORD)
                member.user.save(update_fields=["password"])
                EmailAddress.objects.filter(user=member.user).update(verified=True)
            for order_id, amount, days_ago in orders:
                if Order.objects.filter(shop=shop, external_id=order_id).exists():
                    continue
                order_record(
                    shop=shop,
                    order=OrderInput(
                        order_id=order_id,
                        member=MemberRef(email=email),
                        amount=Decimal(amount),
                        tax=(Decimal(amount) * Decimal("0.2")).quantize(Decimal("0.01")),
                        currency=shop.currency,
                        occurred_at=now - dt.timedelta(days=days_ago),
                        items=(
                            OrderItem(
                                sku=f"SKU-{order_id}",
                                name="Sportswear",
                                category="clothing",
                                quantity=1,
                                unit_price=Decimal(amount),
                            ),
                        ),
                    ),
                )
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
