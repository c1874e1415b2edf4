"""The project as operators meet it: commands, settings, the demo."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from loyalty.models import ApiKey, LedgerEntry, Order, PointsAccount, Shop
from members.models import Member, User

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_create_shop_prints_a_working_key_on_the_last_line():
    out = io.StringIO()
    call_command(
        "create_shop",
        "--name",
        "Fjord Outdoor",
        "--currency",
        "SEK",
        "--webhook-secret",
        "s3",
        stdout=out,
        stderr=io.StringIO(),
    )
    raw_key = out.getvalue().strip().splitlines()[-1]
    shop = Shop.objects.get(name="Fjord Outdoor")
    assert (shop.slug, shop.currency, shop.shopify_webhook_secret) == ("fjord-outdoor", "SEK", "s3")
    key = ApiKey.objects.get(shop=shop)
    assert raw_key.startswith(key.prefix)
    assert raw_key not in (key.key_hash, key.prefix)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/api/v1/orders/").status_code == 200


@pytest.mark.django_db
def test_create_shop_refuses_an_unknown_currency():
    with pytest.raises(CommandError):
        call_command("create_shop", "--name", "X", "--currency", "USD", stdout=io.StringIO())
    assert Shop.objects.count() == 0


@pytest.mark.django_db
def test_demo_data_loads_twice_without_duplicates(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    counts = (Member.objects.count(), Order.objects.count(), LedgerEntry.objects.count(), ApiKey.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (
        Member.objects.count(),
        Order.objects.count(),
        LedgerEntry.objects.count(),
        ApiKey.objects.count(),
    ) == counts
    assert counts[0] >= 3 and counts[1] >= 5
    call_command("check_ledger", stdout=io.StringIO())
    kari = PointsAccount.objects.select_related("tier").get(member__user__email="kari@example.com")
    assert kari.tier.name == "Silver"
    assert User.objects.get(email="admin@klubb.test").is_superuser


@pytest.mark.django_db
def test_demo_key_from_the_readme_works(settings):
    from loyalty.management.commands.seed_demo import DEMO_API_KEY

    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {DEMO_API_KEY}")
    assert client.get("/api/v1/members/?email=kari@example.com").json()["count"] == 1


@pytest.mark.django_db
def test_demo_data_refuses_to_load_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_login_by_email_ignores_case(client):
    User.objects.create_user(email="kari@example.com", password="a-long-password-1")
    assert client.login(username="Kari@Example.COM", password="a-long-password-1")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 30 + "-production-secret-key-for-the-check-0123456789",
        ALLOWED_HOSTS="klubb.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DJANGO_SETTINGS_MODULE="config.settings.production", ALLOWED_HOSTS="klubb.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_default_time_zone_is_oslo(settings):
    assert settings.TIME_ZONE == "Europe/Oslo"
