"""Demo data for ``make run``: a programme, four tiers, a shop with a known API key and a storefront widget,
staff and members; then, once, a year of history of about 200 members at two shops (``loyalty.management.demo``;
``--no-history`` leaves it out, for tests that need only the rest).

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

from loyalty.management.demo import SECOND_SHOP_SLUG, demo_history_seed, per_language
from loyalty.models import ApiKey, Currency, Order, Programme, Reward, Shop, Storefront, Tier
from loyalty.orders import OrderInput, OrderItem, order_record
from loyalty.shops import MemberRef, api_key_create
from loyalty.shops.storefront import storefront_create
from members.models import Interest, Member, User
from members.services import member_enrol

DEMO_API_KEY = "klb_demo0001_nordlys-sport-demo-key"
DEMO_WEBHOOK_SECRET = "demo-webhook-secret"
STAFF_EMAIL, STAFF_PASSWORD = "admin@klubb.test", "klubb-demo-admin"
# Staff need two-factor authentication; the demo staff account's authenticator secret is published too.
# Add it to an authenticator app, or print the current code with `manage.py demo_totp`.
STAFF_TOTP_SECRET = "KLUBBDEMOTOTPSECRETKLUBBDEMO2345"
# Texts staff write in the admin, once per language (django-modeltranslation's name_en, name_nb, ...).
DEMO_INTERESTS = [
    ("running", {"en": "Running", "nb": "Løping", "da": "Løb", "sv": "Löpning"}),
    ("skiing", {"en": "Skiing", "nb": "Ski", "da": "Skiløb", "sv": "Skidåkning"}),
    ("hiking", {"en": "Hiking", "nb": "Fjelltur", "da": "Vandring", "sv": "Vandring"}),
    ("tennis", {"en": "Tennis", "nb": "Tennis", "da": "Tennis", "sv": "Tennis"}),
    ("golf", {"en": "Golf", "nb": "Golf", "da": "Golf", "sv": "Golf"}),
]
DEMO_REWARDS = [
    # points cost, stock, then name, description and how to use, per language
    (1000, None, {
        "name": {"en": "100 kr gift card", "nb": "Gavekort på 100 kr", "da": "Gavekort på 100 kr",
                 "sv": "Presentkort på 100 kr"},
        "description": {"en": "100 kr off your next order.", "nb": "100 kr i rabatt på neste ordre.",
                        "da": "100 kr i rabat på din næste ordre.", "sv": "100 kr rabatt på din nästa order."},
        "how_to_use": {"en": "Type the code at checkout, or show it at the till.",
                       "nb": "Skriv inn koden i kassen, eller vis den i butikken.",
                       "da": "Indtast koden ved kassen, eller vis den i butikken.",
                       "sv": "Skriv in koden i kassan, eller visa den i butiken."},
    }),
    (300, None, {
        "name": {"en": "Free shipping", "nb": "Gratis frakt", "da": "Gratis fragt", "sv": "Fri frakt"},
        "description": {"en": "Free delivery on one order.", "nb": "Gratis levering på én ordre.",
                        "da": "Gratis levering på én ordre.", "sv": "Fri leverans på en order."},
        "how_to_use": {"en": "Type the code at checkout.", "nb": "Skriv inn koden i kassen.",
                       "da": "Indtast koden ved kassen.", "sv": "Skriv in koden i kassan."},
    }),
    (1500, 50, {
        "name": {"en": "Running socks", "nb": "Løpesokker", "da": "Løbesokker", "sv": "Löparstrumpor"},
        "description": {"en": "A pair of Nordlys running socks.", "nb": "Et par løpesokker fra Nordlys.",
                        "da": "Et par løbesokker fra Nordlys.", "sv": "Ett par löparstrumpor från Nordlys."},
        "how_to_use": {"en": "Show the code at the till or add it to an order.",
                       "nb": "Vis koden i butikken eller legg den til en ordre.",
                       "da": "Vis koden i butikken eller tilføj den til en ordre.",
                       "sv": "Visa koden i butiken eller lägg till den i en order."},
    }),
]  # fmt: skip
MEMBER_PASSWORD = "klubb-demo"


def demo_origins(port: int | str) -> list[str]:
    """The sites that may show the demo shop's widget: the demo storefront is opened on one of this machine's
    names and loads Klubb from the other (loyalty.embed.demo)."""
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


TIERS = [
    # threshold, multiplier, colour, then name and benefits (one per line) per language
    (0, "1.00", "#9a5b2e", {
        "name": {"en": "Bronze", "nb": "Bronse", "da": "Bronze", "sv": "Brons"},
        "benefits": {"en": "Member prices on selected products\nBirthday surprise",
                     "nb": "Medlemspriser på utvalgte varer\nBursdagsoverraskelse",
                     "da": "Medlemspriser på udvalgte varer\nFødselsdagsoverraskelse",
                     "sv": "Medlemspriser på utvalda varor\nFödelsedagsöverraskning"},
    }),
    (2000, "1.25", "#6e7781", {
        "name": {"en": "Silver", "nb": "Sølv", "da": "Sølv", "sv": "Silver"},
        "benefits": {"en": "25 per cent extra points on every order\nFree returns",
                     "nb": "25 prosent ekstra poeng på hver ordre\nGratis retur",
                     "da": "25 procent ekstra point på hver ordre\nGratis returnering",
                     "sv": "25 procent extra poäng på varje order\nFri retur"},
    }),
    (5000, "1.50", "#a67c00", {
        "name": {"en": "Gold", "nb": "Gull", "da": "Guld", "sv": "Guld"},
        "benefits": {"en": "50 per cent extra points on every order\nFree shipping\nEarly access to sales",
                     "nb": "50 prosent ekstra poeng på hver ordre\nGratis frakt\nFørst ut på salg",
                     "da": "50 procent ekstra point på hver ordre\nGratis fragt\nFørst til udsalg",
                     "sv": "50 procent extra poäng på varje order\nFri frakt\nFörst till reor"},
    }),
    (15000, "2.00", "#3b3f4a", {
        "name": {"en": "Platinum", "nb": "Platina", "da": "Platin", "sv": "Platina"},
        "benefits": {"en": "Double points on every order\nFree shipping\nPersonal shopper",
                     "nb": "Dobbelt poeng på hver ordre\nGratis frakt\nPersonlig shopper",
                     "da": "Dobbelt point på hver ordre\nGratis fragt\nPersonlig shopper",
                     "sv": "Dubbla poäng på varje order\nFri frakt\nPersonlig shoppare"},
    }),
]  # fmt: skip


# The demo members' ids in the API (``member_id``), fixed so that the README's examples can name them.
DEMO_MEMBER_IDS = {
    "kari@example.com": "5d1c0a7e-3b2f-4c61-9e8a-000000000001",
    "ola@example.com": "5d1c0a7e-3b2f-4c61-9e8a-000000000002",
    "astrid@example.com": "5d1c0a7e-3b2f-4c61-9e8a-000000000003",
}
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
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="Only the programme, the demo shop, the logins and the storefront: not the year of history.",
        )
        parser.add_argument(
            "--port",
            default="8000",
            help="The port `make run` serves on: its demo storefront's origins may show the widget.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("seed_demo creates accounts with published passwords; it runs only with DEBUG on.")
        with transaction.atomic():
            programme = Programme.load()
            if programme.name == "Klubb":  # first run: the demo's settings, which staff may change after
                programme.name = "Nordlys Klubb"
                programme.pending_days = 14  # a return window: Kari's newest order's points are pending
                programme.point_value = Decimal("0.10")  # at checkout, 100 points pay 10.00 NOK
                programme.points_expire_months = 12  # the history's oldest points have expired
                programme.save()
            for threshold, multiplier, colour, texts in TIERS:
                Tier.objects.get_or_create(
                    threshold=threshold,
                    defaults={"multiplier": Decimal(multiplier), "colour": colour, **per_language(texts)},
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
            self._storefront(shop=shop, port=options["port"])
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
            for order, (slug, names) in enumerate(DEMO_INTERESTS):
                names = per_language({"name": names})
                Interest.objects.get_or_create(slug=slug, defaults={"sort_order": order, **names})
            for cost, stock, texts in DEMO_REWARDS:
                Reward.objects.get_or_create(
                    name_en=texts["name"]["en"],
                    defaults={"points_cost": cost, "stock": stock, **per_language(texts)},
                )
        now = timezone.now()
        for email, first, last, language, orders in MEMBERS:
            member, created = member_enrol(
                email=email, first_name=first, last_name=last, language=language, source=Member.Source.STAFF
            )
            if created:
                # Members since a week before their first order.
                joined = now - dt.timedelta(days=max(days for _id, _amount, days in orders) + 7)
                Member.objects.filter(pk=member.pk).update(public_id=DEMO_MEMBER_IDS[email], enrolled_at=joined)
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
        if not options["no_history"] and not Shop.objects.filter(slug=SECOND_SHOP_SLUG).exists():  # once
            with transaction.atomic():
                report = demo_history_seed(now=now, staff=staff)
            for note in report.notes:
                self.stderr.write(note)
            self.stdout.write(
                f"Demo history: {report.members} members, {report.orders} orders, {report.refunds} refunds, "
                f"{report.expired} points expired."
            )
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))

    def _storefront(self, *, shop: Shop, port: str) -> None:
        """The demo shop's storefront widget, its origins for this port added to those it has (``make run
        PORT=8001`` after ``make run`` keeps both)."""
        storefront = Storefront.objects.filter(shop=shop).first()
        if storefront is None:
            storefront = storefront_create(shop=shop).storefront
        lines = [line.strip() for line in storefront.allowed_origins.splitlines() if line.strip()]
        missing = [origin for origin in demo_origins(port) if origin not in storefront.origins]
        if missing:
            storefront.allowed_origins = "\n".join([*lines, *missing])
            storefront.save(update_fields=["allowed_origins"])
