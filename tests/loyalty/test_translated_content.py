"""What staff write (tier names and benefits, rewards, win-back offers, interests) reaches each member in
their language, and in English where staff left a language empty."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from loyalty.models import Reward
from loyalty.rewards.catalogue import reward_redeem
from members.messaging import messages_send_due
from members.models import Interest, Member
from tests.conftest import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def gold_in_nordic(tiers):
    gold = tiers[2]
    gold.name_nb, gold.name_sv = "Gull", "Guld"
    gold.benefits_en = "Free delivery"
    gold.benefits_nb = "Gratis frakt"
    gold.save()
    return gold


def portal(client, member: Member, language: str, url: str = "/") -> str:
    client.force_login(member.user)
    client.cookies["django_language"] = language
    return client.get(url).content.decode()


def test_the_portal_names_the_tier_and_rewards_in_the_members_language(client, shop, programme, gold_in_nordic):
    make_order(shop, order_id="1", amount="6000.00")
    member = Member.objects.get()
    Reward.objects.create(name_en="Gift card", name_sv="Presentkort", points_cost=100)

    swedish = portal(client, member, "sv")
    assert "Guld" in swedish and "Presentkort" in swedish
    norwegian = portal(client, member, "nb")
    assert "Gull" in norwegian and "Gratis frakt" in norwegian
    assert "Gift card" in norwegian  # no Norwegian name: the English one
    danish = portal(client, member, "da")
    assert "Gold" in danish and "Free delivery" in danish


def test_a_tier_up_email_names_the_tier_in_the_members_language(shop, programme, gold_in_nordic):
    make_order(shop, order_id="1", amount="10.00", email="ola@example.com")
    Member.objects.filter(user__email="ola@example.com").update(language="nb", notify_email=True)
    mail.outbox.clear()
    make_order(shop, order_id="2", amount="6000.00", email="ola@example.com")
    messages_send_due()
    tier_up = [m for m in mail.outbox if "Gull" in m.subject + m.body]
    assert tier_up and "Gratis frakt" in tier_up[0].body
    assert "Gold" not in tier_up[0].subject + tier_up[0].body


def test_a_redeemed_rewards_email_tells_how_to_use_it_in_the_members_language(shop, tiers, programme):
    make_order(shop, order_id="1", amount="1000.00")
    member = Member.objects.get()
    Member.objects.filter(pk=member.pk).update(language="sv")
    reward = Reward.objects.create(
        name_en="Gift card", name_sv="Presentkort", how_to_use_en="Show the code", how_to_use_sv="Visa koden",
        points_cost=100,
    )  # fmt: skip
    mail.outbox.clear()
    reward_redeem(member=Member.objects.get(pk=member.pk), reward=reward)
    messages_send_due()
    body = mail.outbox[-1].subject + mail.outbox[-1].body
    assert "Presentkort" in body and "Visa koden" in body


def test_staff_write_each_text_once_per_language_in_the_admin(admin_client, tiers):
    page = admin_client.get(reverse("admin:loyalty_tier_change", args=[tiers[0].pk])).content.decode()
    for language in ("en", "nb", "da", "sv"):
        assert f'name="name_{language}"' in page and f'name="benefits_{language}"' in page
    page = admin_client.get(reverse("admin:members_interest_add")).content.decode()
    assert 'name="name_sv"' in page


def test_interests_are_offered_in_the_members_language(client, member):
    Interest.objects.create(name_en="Running", name_nb="Løping", slug="running")
    assert "Løping" in portal(client, member, "nb", reverse("portal:profile"))
