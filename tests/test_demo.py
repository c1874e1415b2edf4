"""The demo ``make run`` loads (``seed_demo``): a year of a club's life that every admin page and dashboard
figure can show, loaded twice without change, with a clean ledger; and the README's API examples, read from
README.md and run in order against it, answer what the README says they answer."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.management.demo import SECOND_SHOP_API_KEY
from loyalty.models import (
    ActionAward,
    EarningRule,
    EarningRuleUse,
    EntryKind,
    LedgerEntry,
    Order,
    PointsAccount,
    PointsAction,
    Redemption,
    RedemptionStatus,
    Refund,
    ReminderStatus,
    ReplenishmentReminder,
    Shop,
    ShopCustomer,
    Voucher,
    VoucherStatus,
)
from loyalty.staff.dashboard import Period, dashboard_build
from members.models import ConsentRecord, Member, Message
from referrals.models import FriendDiscount, Referral, ReferralCode, ReferralStatus

pytestmark = pytest.mark.django_db
README = Path(__file__).resolve().parent.parent / "README.md"


def _seed(settings: Any) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())


def _counts() -> dict[str, Any]:
    return {
        "members": Member.objects.count(),
        "orders": Order.objects.count(),
        "refunds": Refund.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "vouchers": Voucher.objects.count(),
        "referrals": Referral.objects.count(),
        "awards": ActionAward.objects.count(),
        "messages": Message.objects.count(),
        "consents": ConsentRecord.objects.count(),
        "redemptions": Redemption.objects.count(),
    }


def test_demo_is_a_year_of_two_shops_and_loads_twice_without_change(settings):
    _seed(settings)
    first = _counts()
    _seed(settings)
    assert _counts() == first
    out = io.StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()

    assert 190 <= first["members"] <= 215
    assert sorted(Shop.objects.values_list("currency", flat=True)) == ["NOK", "SEK"]
    by_shop = dict(Order.objects.values_list("shop__currency").annotate(n=Count("id")))
    assert by_shop["NOK"] >= 200 and by_shop["SEK"] >= 100
    oldest, newest = Order.objects.order_by("occurred_at").values_list("occurred_at", flat=True)[:: first["orders"] - 1]
    assert (newest - oldest).days >= 330
    assert first["refunds"] >= 10
    # Returns as data: every history refund says why and what came back, after its order, so the dashboard's
    # returns section has products, categories and reasons to show for the last year.
    history = Refund.objects.filter(external_id__startswith="R-")
    assert history.filter(reason__isnull=True).count() == 0 and history.filter(lines__isnull=True).count() == 0
    assert all(refund.occurred_at > refund.order.occurred_at for refund in history.select_related("order"))
    today = timezone.localdate()
    year = dashboard_build(period=Period.from_dates(first=today - dt.timedelta(days=364), last=today))
    reasons = {row[0] for row in year.table("return_reasons").rows}
    assert {"Too small", "Damaged or faulty", "Not as described"} <= reasons
    assert len(year.table("returns_categories").rows) >= 4
    # Members joined over the year, not all on the day the demo was loaded.
    assert Member.objects.dates("enrolled_at", "month").count() >= 10

    statuses = dict(Referral.objects.values_list("status").annotate(n=Count("id")))
    assert statuses[ReferralStatus.REVIEW] == 1
    assert statuses[ReferralStatus.REWARDED] >= 1 and statuses[ReferralStatus.PENDING] >= 1
    # Friends' discounts: personal codes used on first orders and still unused, and a checkout-first referral.
    assert FriendDiscount.objects.filter(shared=False, status="used").count() >= 3
    assert FriendDiscount.objects.filter(shared=False, status="issued").exists()
    nils = Referral.objects.get(friend__user__email="nils.berg@example.com")
    assert (nils.source, nils.referrer.user.email, nils.friend_discount.used_order.external_id) == (
        "checkout", "astrid@example.com", "N-RC01",
    )  # fmt: skip
    winback = Voucher.objects.filter(winback_offer__isnull=False)
    assert winback.filter(status=VoucherStatus.ISSUED).exists() and winback.filter(status=VoucherStatus.USED).exists()
    rewards = Voucher.objects.filter(reward__isnull=False)
    assert rewards.filter(status=VoucherStatus.ISSUED).exists() and rewards.filter(status=VoucherStatus.USED).exists()
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).exists()
    assert LedgerEntry.objects.filter(kind=EntryKind.ADJUST, staff__isnull=False).exists()
    assert Redemption.objects.filter(status=RedemptionStatus.CAPTURED).exists()
    assert Redemption.objects.filter(status=RedemptionStatus.RELEASED).exists()
    # Campaigns and points for actions at work: sign-up earns, shops' review events earn, rules gave points.
    assert PointsAction.objects.filter(event_type="product_review", is_active=True).exists()
    assert ActionAward.objects.filter(action__kind="signup", points__gt=0).count() >= 10
    assert ActionAward.objects.filter(action__kind="event", points__gt=0).count() >= 10
    assert EarningRule.objects.count() >= 3 and EarningRuleUse.objects.exists()
    assert first["messages"] >= 50 and first["consents"] >= 50
    # Replenishment reminders: sent in the last weeks (some followed by a new pair), more scheduled; the
    # dashboard's default 30 days show them.
    reminders = dict(ReplenishmentReminder.objects.values_list("status").annotate(n=Count("id")))
    assert reminders[ReminderStatus.SENT] >= 8 and reminders[ReminderStatus.SCHEDULED] >= 5
    assert ReplenishmentReminder.objects.filter(followed_by__isnull=False).count() >= 2
    assert Message.objects.filter(kind="replenishment").count() == reminders[ReminderStatus.SENT]
    today = dt.date.today()
    panel = dashboard_build(period=Period.from_dates(first=today - dt.timedelta(days=29), last=today)).table(
        "replenishment"
    )
    *_rules, (label, sent, followed, share) = panel.rows
    assert label == "All rules" and sent >= 8 and followed >= 2 and 0 < share < 100
    assert ShopCustomer.objects.exclude(external_id="").count() >= 10
    # Every tier has members; Kari, the demo's login, is Silver.
    assert PointsAccount.objects.filter(tier__isnull=True).count() == 0
    assert PointsAccount.objects.values("tier").distinct().count() == 4
    assert PointsAccount.objects.get(member__user__email="kari@example.com").tier.name == "Silver"
    # The second shop's key, which the banner and the README print, reads that shop's orders in SEK.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SECOND_SHOP_API_KEY}")
    orders = client.get("/api/v1/orders/").json()
    assert orders["count"] == by_shop["SEK"] and orders["results"][0]["currency"] == "SEK"


def test_demo_without_history_is_the_one_shop_and_the_logins(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--no-history", stdout=io.StringIO())
    assert list(Shop.objects.values_list("slug", flat=True)) == ["nordlys-sport"]
    assert Member.objects.count() == 3 and not Referral.objects.exists()


# --- The README's examples ----------------------------------------------------------------------------------


@dataclass
class Example:
    command: str
    expected: list[str] = field(default_factory=list)  # the comment lines that answer it: "# 201 {...}"


def readme_examples(text: str) -> list[Example]:
    """Every shell command in README.md's ``sh`` blocks that calls the API with curl, with the answer the
    README gives under it; variables the block sets (``K="..."``) are filled in."""
    examples: list[Example] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        variables: dict[str, str] = {}
        buffer, last = "", None
        for line in block.splitlines():
            stripped = line.strip()
            if not buffer and stripped.startswith("#"):
                answer = re.match(r"#\s*(\d{3})\b", stripped)
                if last is not None and (answer or (last.expected and re.match(r"#\s{2,}", stripped))):
                    last.expected.append(stripped.lstrip("#").strip())
                continue
            if not buffer and not stripped:
                last = None
                continue
            buffer += line + "\n"
            if stripped.endswith("\\") or not _complete(buffer):
                continue
            command, buffer = re.sub(r"\\\n", " ", buffer).strip(), ""
            assignment = re.fullmatch(r"([A-Z_]+)=(.*)", command, flags=re.S)
            if assignment:
                variables[assignment[1]] = _shell_value(assignment[2], variables)
                continue
            for name, value in variables.items():
                command = command.replace(f'"${name}"', shlex.quote(value)).replace(f"${name}", value)
            if command.startswith("curl ") and ("/api/v1/" in command or "/hooks/" in command):
                last = Example(command=command)
                examples.append(last)
            else:
                last = None
    return examples


def _shell_value(value: str, variables: dict[str, str]) -> str:
    """A variable's value: a quoted string, or what a command substitution prints (a webhook's signature by
    ``openssl``, run by the shell as a reader's would run it)."""
    if value.startswith("$(") and value.endswith(")"):
        done = subprocess.run(
            ["bash", "-c", value[2:-1]], env={**os.environ, **variables}, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()
    return shlex.split(value)[0]


def _complete(text: str) -> bool:
    try:
        shlex.split(text)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


def _request(client: APIClient, command: str) -> Any:
    words = shlex.split(command)
    method, headers, body, url = "GET", {}, None, None
    index = 1
    while index < len(words):
        word = words[index]
        if word == "-X":
            method, index = words[index + 1], index + 1
        elif word == "-H":
            name, _, value = words[index + 1].partition(":")
            headers[name.strip()] = value.strip()
            index += 1
        elif word == "-d":
            body, index = words[index + 1], index + 1
        elif not word.startswith("-"):
            url = word
        index += 1
    assert url is not None, command
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    content_type = headers.pop("Content-Type", "application/json")
    call = getattr(client, method.lower())
    if body is None:
        return call(path, headers=headers)
    json.loads(body)  # the README's bodies are JSON a reader can paste
    return call(path, data=body.encode(), content_type=content_type, headers=headers)


# Values an example's answer shows that differ on every run (ids, codes, times): not compared.
VARIES = {"code", "expires_at", "available_at", "created_at", "id", "issued_at", "used_at"}


def _pairs(data: Any) -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        return [pair for key, value in data.items() for pair in [(key, value), *_pairs(value)]]
    if isinstance(data, list):
        return [pair for item in data for pair in _pairs(item)]
    return []


def _expected_pairs(answer: str) -> list[tuple[str, Any]]:
    found = []
    for key, value in re.findall(r'"(\w+)":\s*("(?:[^"\\]|\\.)*"|-?\d+|true|false|null)', answer):
        if key not in VARIES and value != '"…"':
            found.append((key, json.loads(value)))
    return found


# The README's examples are dated (an order on 6 December 2026 still in its return window): the demo is loaded
# on the next morning, its history relative to then, as a reader would have run them that day.
README_DAY = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def test_readme_api_examples_answer_as_documented_against_the_demo(settings):
    with time_machine.travel(README_DAY, tick=True):
        _readme_examples_run(settings)


def _readme_examples_run(settings: Any) -> None:
    _seed(settings)
    examples = readme_examples(README.read_text())
    paths = " ".join(example.command for example in examples)
    operations = (
        "/api/v1/orders/", "/refunds/", "/api/v1/members/?email=", "/consents/", "/api/v1/events/",
        "/api/v1/points/preview/", "/api/v1/redemptions/", "/api/v1/vouchers/", "/hooks/shopify/",
        "/hooks/woocommerce/", "/api/v1/return-reasons/",
    )  # fmt: skip
    for operation in operations:
        assert operation in paths, f"the README has no example for {operation}"
    client = APIClient()
    # A code the README shows -> the one the demo gave (a reader pastes theirs): Kari's voucher, checkout codes.
    karis = Voucher.objects.get(member__user__email="kari@example.com", status=VoucherStatus.ISSUED)
    astrids = ReferralCode.objects.get(member__user__email="astrid@example.com")
    codes: dict[str, str] = {"KARIS-CODE": karis.code, "ASTRIDS-CODE": astrids.code}
    for example in examples:
        command = example.command
        for shown, real in codes.items():
            command = command.replace(shown, real)
        response = _request(client, command)
        answer = " ".join(example.expected)
        status = re.match(r"(\d{3})", answer)
        assert status, f"the README gives no answer for: {command}"
        assert response.status_code == int(status[1]), (command, response.content)
        body = response.json()
        actual = _pairs(body)
        for pair in _expected_pairs(answer):
            assert pair in actual, (command, pair, body)
        for shown in re.findall(r'"code":\s*"([\w-]+)"', answer):
            if isinstance(body, dict):  # a list's codes (return reasons) are what they say
                codes.setdefault(shown, body["code"])
    # What the README says about replays holds too: the first order again is a 200 with the same body.
    first = examples[0]
    assert _request(client, first.command).status_code == 200
    # And about replenishment: Liv's ski wax has its reminder at 10:00 on 13 January, linking to the product.
    liv = ReplenishmentReminder.objects.get(order__external_id="W-3001")
    assert (liv.status, liv.url) == (ReminderStatus.SCHEDULED, "https://nordlys-sport.example.com/products/ski-wax-kit")
    assert liv.due_at == dt.datetime(2027, 1, 13, 10, 0, tzinfo=ZoneInfo("Europe/Oslo"))
    assert not Order.objects.filter(external_id="W-3002").exists()


def test_readme_balance_import_example_runs_as_documented_against_the_demo(settings, tmp_path):
    """The "Moving from another programme" block: its CSV file, then each import_balances command, whose output
    (stdout and stderr, timing aside) is the README's comment lines under it."""
    text = README.read_text()
    block = re.search(r"### Moving from another programme.*?```sh\n(.*?)```", text, re.S).group(1)
    name, csv_text = re.search(r"cat > (\S+) <<'CSV'\n(.*?)\nCSV\n", block, re.S).groups()
    (tmp_path / name).write_text(csv_text + "\n")
    runs: list[tuple[list[str], list[str]]] = []
    for line in block.splitlines():
        if line.startswith(".venv/bin/python manage.py import_balances"):
            runs.append((shlex.split(line)[3:], []))
        elif line.startswith("# ") and runs:
            runs[-1][1].append(line[2:])
    assert len(runs) == 3
    with time_machine.travel(README_DAY, tick=True):
        _seed(settings)
        for args, expected in runs:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.suppress(SystemExit):  # a refused line: status 1
                call_command("import_balances", *[str(tmp_path / a) if a == name else a for a in args],
                             stdout=out, stderr=err)  # fmt: skip
            got = (out.getvalue() + err.getvalue()).strip().splitlines()
            assert [re.sub(r" \(\d+\.\d s\)$", "", g) for g in got] == [
                re.sub(r" \(\d+\.\d s\)$", "", e) for e in expected
            ], args
        ingrid = PointsAccount.objects.get(member__user__email="ingrid.moe@example.com")
        assert (ingrid.balance, ingrid.tier.name_nb) == (1800, "Gull")
        out = io.StringIO()
        call_command("check_ledger", stdout=out)
        assert "Ledger OK" in out.getvalue()
