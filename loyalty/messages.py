"""The messages the points engine sends members, registered with ``members.messaging`` by ``LoyaltyConfig.ready``.

For each kind: the variables its templates may use (besides ``first_name``, ``club`` and ``portal_url``, shown in
the admin), sample values for the admin's preview, whether it is marketing (sent only with consent), and its
default texts in the four languages: ``(email subject, email text after the greeting, SMS text)`` in Django's
template language, installed as editable templates by ``manage.py message_templates`` (``--reset`` restores
them). The greeting and the unsubscribe line are added by ``members.messaging``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.messaging import DefaultTexts, message_kind_register


class LoyaltyMessage(models.TextChoices):
    POINTS_EARNED = "points_earned", _("Points earned")
    TIER_UP = "tier_up", _("Tier up")
    TIER_DOWN = "tier_down", _("Tier down")
    EXPIRY_WARNING = "expiry_warning", _("Points about to expire")
    REWARD_REDEEMED = "reward_redeemed", _("Reward redeemed")
    WINBACK = "winback", _("Win-back offer")
    SEGMENT = "segment", _("Message to a segment")
    REPLENISHMENT = "replenishment", _("Replenishment reminder")


# Offers: sent only through channels the member consented to. A replenishment reminder asks the member to buy
# again, which is marketing by email and SMS in Norway, Denmark and Sweden: consent decides, as for offers.
MARKETING = frozenset({LoyaltyMessage.WINBACK, LoyaltyMessage.SEGMENT, LoyaltyMessage.REPLENISHMENT})

VARIABLES: dict[str, list[str]] = {
    LoyaltyMessage.POINTS_EARNED: ["points", "balance", "order", "shop"],
    LoyaltyMessage.TIER_UP: ["tier", "benefits"],
    LoyaltyMessage.TIER_DOWN: ["tier"],
    LoyaltyMessage.EXPIRY_WARNING: ["points", "date"],
    LoyaltyMessage.REWARD_REDEEMED: ["reward", "code", "how_to_use"],
    LoyaltyMessage.WINBACK: ["offer", "code", "valid_until"],
    LoyaltyMessage.SEGMENT: ["subject", "text"],
    LoyaltyMessage.REPLENISHMENT: ["product", "url", "text"],
}

# What the admin's preview fills in.
SAMPLES: dict[str, dict[str, Any]] = {
    LoyaltyMessage.POINTS_EARNED: {"points": 1250, "balance": 3480, "order": "10023", "shop": "Nordlys Sport"},
    LoyaltyMessage.TIER_UP: {"tier": "Gold", "benefits": ["Free shipping", "Double points on your birthday"]},
    LoyaltyMessage.TIER_DOWN: {"tier": "Gold"},
    LoyaltyMessage.EXPIRY_WARNING: {"points": 1250, "date": dt.date(2027, 1, 31)},
    LoyaltyMessage.REWARD_REDEEMED: {
        "reward": "Gift card 200 kr",
        "code": "K7QF3M9XTA",
        "how_to_use": "Enter the code at checkout.",
    },
    LoyaltyMessage.WINBACK: {
        "offer": "15 % off your next order",
        "code": "K7QF3M9XTA",
        "valid_until": dt.date(2027, 1, 31),
    },
    LoyaltyMessage.SEGMENT: {"subject": "News from the club", "text": "Our winter sale starts on Friday."},
    LoyaltyMessage.REPLENISHMENT: {
        "product": "Vitamin D, 90 tablets",
        "url": "https://shop.example.com/products/vitamin-d-90",
        "text": "Order before Friday for free shipping.",
    },
}

_BENEFITS = "{% if benefits %}\n\n{label}{% for benefit in benefits %}\n- {{ benefit }}{% endfor %}{% endif %}"

# kind -> language -> (email subject, email text after the greeting, SMS text)
DEFAULTS: dict[str, DefaultTexts] = {
    LoyaltyMessage.POINTS_EARNED: {
        "en": (
            "You earned {{ points }} points",
            "You earned {{ points }} points for order {{ order }} at {{ shop }}. "
            "Your balance is now {{ balance }} points.\n\nSee what you can get: {{ portal_url }}",
            "{{ club }}: +{{ points }} points for order {{ order }}. Balance: {{ balance }} points. {{ portal_url }}",
        ),
        "nb": (
            "Du har fått {{ points }} poeng",
            "Du har fått {{ points }} poeng for ordre {{ order }} hos {{ shop }}. "
            "Poengsaldoen din er nå {{ balance }} poeng.\n\nSe hva du kan få: {{ portal_url }}",
            "{{ club }}: +{{ points }} poeng for ordre {{ order }}. Poengsaldo: {{ balance }} poeng. {{ portal_url }}",
        ),
        "da": (
            "Du har fået {{ points }} point",
            "Du har fået {{ points }} point for ordre {{ order }} hos {{ shop }}. "
            "Din pointsaldo er nu {{ balance }} point.\n\nSe, hvad du kan få: {{ portal_url }}",
            "{{ club }}: +{{ points }} point for ordre {{ order }}. Pointsaldo: {{ balance }} point. {{ portal_url }}",
        ),
        "sv": (
            "Du har fått {{ points }} poäng",
            "Du har fått {{ points }} poäng för order {{ order }} hos {{ shop }}. "
            "Din poängsaldo är nu {{ balance }} poäng.\n\nSe vad du kan få: {{ portal_url }}",
            "{{ club }}: +{{ points }} poäng för order {{ order }}. Poängsaldo: {{ balance }} poäng. {{ portal_url }}",
        ),
    },
    LoyaltyMessage.TIER_UP: {
        "en": (
            "You are now {{ tier }}!",
            "Congratulations, you have reached {{ tier }} in {{ club }}."
            + _BENEFITS.replace("{label}", "Your benefits:")
            + "\n\n{{ portal_url }}",
            "{{ club }}: Congratulations, you are now {{ tier }}! {{ portal_url }}",
        ),
        "nb": (
            "Du er nå {{ tier }}!",
            "Gratulerer, du har nådd nivå {{ tier }} i {{ club }}."
            + _BENEFITS.replace("{label}", "Fordelene dine:")
            + "\n\n{{ portal_url }}",
            "{{ club }}: Gratulerer, du er nå {{ tier }}! {{ portal_url }}",
        ),
        "da": (
            "Du er nu {{ tier }}!",
            "Tillykke, du har nået niveau {{ tier }} i {{ club }}."
            + _BENEFITS.replace("{label}", "Dine fordele:")
            + "\n\n{{ portal_url }}",
            "{{ club }}: Tillykke, du er nu {{ tier }}! {{ portal_url }}",
        ),
        "sv": (
            "Du är nu {{ tier }}!",
            "Grattis, du har nått nivå {{ tier }} i {{ club }}."
            + _BENEFITS.replace("{label}", "Dina förmåner:")
            + "\n\n{{ portal_url }}",
            "{{ club }}: Grattis, du är nu {{ tier }}! {{ portal_url }}",
        ),
    },
    LoyaltyMessage.TIER_DOWN: {
        "en": (
            "Your level is now {{ tier }}",
            "Your level in {{ club }} is now {{ tier }}. Earn points to move up again: "
            "see how many points you need for the next level at {{ portal_url }}",
            "{{ club }}: Your level is now {{ tier }}. See how to move up again: {{ portal_url }}",
        ),
        "nb": (
            "Nivået ditt er nå {{ tier }}",
            "Nivået ditt i {{ club }} er nå {{ tier }}. Tjen poeng for å komme opp igjen: "
            "se hvor mange poeng du trenger til neste nivå på {{ portal_url }}",
            "{{ club }}: Nivået ditt er nå {{ tier }}. Se hvordan du kommer opp igjen: {{ portal_url }}",
        ),
        "da": (
            "Dit niveau er nu {{ tier }}",
            "Dit niveau i {{ club }} er nu {{ tier }}. Optjen point for at rykke op igen: "
            "se, hvor mange point du skal bruge til næste niveau, på {{ portal_url }}",
            "{{ club }}: Dit niveau er nu {{ tier }}. Se, hvordan du rykker op igen: {{ portal_url }}",
        ),
        "sv": (
            "Din nivå är nu {{ tier }}",
            "Din nivå i {{ club }} är nu {{ tier }}. Tjäna poäng för att gå upp igen: "
            "se hur många poäng du behöver till nästa nivå på {{ portal_url }}",
            "{{ club }}: Din nivå är nu {{ tier }}. Se hur du går upp igen: {{ portal_url }}",
        ),
    },
    LoyaltyMessage.EXPIRY_WARNING: {
        "en": (
            "{{ points }} points expire on {{ date }}",
            "{{ points }} of your points expire on {{ date }}. Use them before then: "
            "see your rewards at {{ portal_url }}",
            "{{ club }}: {{ points }} points expire on {{ date }}. Use them: {{ portal_url }}",
        ),
        "nb": (
            "{{ points }} poeng utløper {{ date }}",
            "{{ points }} av poengene dine utløper {{ date }}. Bruk dem før det: "
            "se belønningene dine på {{ portal_url }}",
            "{{ club }}: {{ points }} poeng utløper {{ date }}. Bruk dem: {{ portal_url }}",
        ),
        "da": (
            "{{ points }} point udløber {{ date }}",
            "{{ points }} af dine point udløber {{ date }}. Brug dem inden da: se dine belønninger på {{ portal_url }}",
            "{{ club }}: {{ points }} point udløber {{ date }}. Brug dem: {{ portal_url }}",
        ),
        "sv": (
            "{{ points }} poäng förfaller {{ date }}",
            "{{ points }} av dina poäng förfaller {{ date }}. Använd dem innan dess: "
            "se dina belöningar på {{ portal_url }}",
            "{{ club }}: {{ points }} poäng förfaller {{ date }}. Använd dem: {{ portal_url }}",
        ),
    },
    LoyaltyMessage.REWARD_REDEEMED: {
        "en": (
            "Your voucher for {{ reward }}",
            "Here is your voucher for {{ reward }}: {{ code }}\n\n{% if how_to_use %}{{ how_to_use }}\n\n{% endif %}"
            "You can always find it at {{ portal_url }}",
            "{{ club }}: Your voucher for {{ reward }}: {{ code }}",
        ),
        "nb": (
            "Kupongen din for {{ reward }}",
            "Her er kupongen din for {{ reward }}: {{ code }}\n\n{% if how_to_use %}{{ how_to_use }}\n\n{% endif %}"
            "Du finner den alltid på {{ portal_url }}",
            "{{ club }}: Kupongen din for {{ reward }}: {{ code }}",
        ),
        "da": (
            "Din kupon til {{ reward }}",
            "Her er din kupon til {{ reward }}: {{ code }}\n\n{% if how_to_use %}{{ how_to_use }}\n\n{% endif %}"
            "Du kan altid finde den på {{ portal_url }}",
            "{{ club }}: Din kupon til {{ reward }}: {{ code }}",
        ),
        "sv": (
            "Din kupong för {{ reward }}",
            "Här är din kupong för {{ reward }}: {{ code }}\n\n{% if how_to_use %}{{ how_to_use }}\n\n{% endif %}"
            "Du hittar den alltid på {{ portal_url }}",
            "{{ club }}: Din kupong för {{ reward }}: {{ code }}",
        ),
    },
    LoyaltyMessage.WINBACK: {
        "en": (
            "We miss you: {{ offer }}",
            "It's been a while. Here is an offer just for you: {{ offer }}.\n"
            "Use the code {{ code }} at checkout{% if valid_until %} before {{ valid_until }}{% endif %}.\n\n"
            "{{ portal_url }}",
            "{{ club }}: We miss you! {{ offer }} with the code {{ code }}"
            "{% if valid_until %}, until {{ valid_until }}{% endif %}.",
        ),
        "nb": (
            "Vi savner deg: {{ offer }}",
            "Det er lenge siden sist. Her er et tilbud bare til deg: {{ offer }}.\n"
            "Bruk koden {{ code }} i kassen{% if valid_until %} innen {{ valid_until }}{% endif %}.\n\n"
            "{{ portal_url }}",
            "{{ club }}: Vi savner deg! {{ offer }} med koden {{ code }}"
            "{% if valid_until %}, til {{ valid_until }}{% endif %}.",
        ),
        "da": (
            "Vi savner dig: {{ offer }}",
            "Det er længe siden. Her er et tilbud kun til dig: {{ offer }}.\n"
            "Brug koden {{ code }} ved kassen{% if valid_until %} inden {{ valid_until }}{% endif %}.\n\n"
            "{{ portal_url }}",
            "{{ club }}: Vi savner dig! {{ offer }} med koden {{ code }}"
            "{% if valid_until %}, indtil {{ valid_until }}{% endif %}.",
        ),
        "sv": (
            "Vi saknar dig: {{ offer }}",
            "Det var länge sedan. Här är ett erbjudande bara till dig: {{ offer }}.\n"
            "Använd koden {{ code }} i kassan{% if valid_until %} senast {{ valid_until }}{% endif %}.\n\n"
            "{{ portal_url }}",
            "{{ club }}: Vi saknar dig! {{ offer }} med koden {{ code }}"
            "{% if valid_until %}, till {{ valid_until }}{% endif %}.",
        ),
    },
    LoyaltyMessage.SEGMENT: {
        "en": (
            "{{ subject }}",
            "{{ text }}\n\n{{ portal_url }}",
            "{{ club }}: {{ text }}",
        ),
        "nb": (
            "{{ subject }}",
            "{{ text }}\n\n{{ portal_url }}",
            "{{ club }}: {{ text }}",
        ),
        "da": (
            "{{ subject }}",
            "{{ text }}\n\n{{ portal_url }}",
            "{{ club }}: {{ text }}",
        ),
        "sv": (
            "{{ subject }}",
            "{{ text }}\n\n{{ portal_url }}",
            "{{ club }}: {{ text }}",
        ),
    },
    LoyaltyMessage.REPLENISHMENT: {
        "en": (
            "Time to stock up on {{ product }}?",
            "Your {{ product }} may run out soon.{% if text %}\n\n{{ text }}{% endif %}"
            "{% if url %}\n\nOrder again: {{ url }}{% endif %}\n\n{{ portal_url }}",
            "{{ club }}: Your {{ product }} may run out soon."
            "{% if text %} {{ text }}{% endif %}{% if url %} {{ url }}{% endif %}",
        ),
        "nb": (
            "På tide å fylle på med {{ product }}?",
            "Kanskje er {{ product }} snart brukt opp.{% if text %}\n\n{{ text }}{% endif %}"
            "{% if url %}\n\nBestill igjen: {{ url }}{% endif %}\n\n{{ portal_url }}",
            "{{ club }}: Kanskje er {{ product }} snart brukt opp."
            "{% if text %} {{ text }}{% endif %}{% if url %} {{ url }}{% endif %}",
        ),
        "da": (
            "Tid til at fylde op med {{ product }}?",
            "Måske er {{ product }} snart brugt op.{% if text %}\n\n{{ text }}{% endif %}"
            "{% if url %}\n\nBestil igen: {{ url }}{% endif %}\n\n{{ portal_url }}",
            "{{ club }}: Måske er {{ product }} snart brugt op."
            "{% if text %} {{ text }}{% endif %}{% if url %} {{ url }}{% endif %}",
        ),
        "sv": (
            "Dags att fylla på med {{ product }}?",
            "Kanske tar {{ product }} snart slut.{% if text %}\n\n{{ text }}{% endif %}"
            "{% if url %}\n\nBeställ igen: {{ url }}{% endif %}\n\n{{ portal_url }}",
            "{{ club }}: Kanske tar {{ product }} snart slut."
            "{% if text %} {{ text }}{% endif %}{% if url %} {{ url }}{% endif %}",
        ),
    },
}


def loyalty_message_kinds_register() -> None:
    """Register the points engine's kinds of message with ``members.messaging`` (from ``LoyaltyConfig.ready``)."""
    for kind in LoyaltyMessage:
        message_kind_register(
            kind=kind,
            label=kind.label,
            variables=VARIABLES[kind],
            sample=SAMPLES[kind],
            marketing=kind in MARKETING,
            defaults=DEFAULTS[kind],
        )
