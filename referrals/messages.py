"""The messages the referral programme sends: the referrer's thanks when a friend's order earns them points, and
the friend's discount code when they join through an invitation.

Registered with ``members.messaging`` by ``ReferralsConfig.ready``, with its variables, sample values for the
admin's preview and default texts in the four languages: ``(email subject, email text after the greeting, SMS
text)`` in Django's template language. The greeting and the unsubscribe line are added by ``members.messaging``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.messaging import DefaultTexts, message_kind_register


class ReferralMessage(models.TextChoices):
    REFERRAL_REWARDED = "referral_rewarded", _("Referral rewarded")
    FRIEND_DISCOUNT = "friend_discount", _("Friend's discount")


VARIABLES: dict[str, list[str]] = {
    ReferralMessage.REFERRAL_REWARDED: ["points", "friend"],
    ReferralMessage.FRIEND_DISCOUNT: ["code", "discount", "expires"],
}

# What the admin's preview fills in.
SAMPLES: dict[str, dict[str, Any]] = {
    ReferralMessage.REFERRAL_REWARDED: {"points": 1250, "friend": "Ola"},
    ReferralMessage.FRIEND_DISCOUNT: {
        "code": "7KQH3MZP9",
        "discount": "10% off your first order of NOK 300.00 or more",
        "expires": "6 January 2027",
    },
}

# kind -> language -> (email subject, email text after the greeting, SMS text)
DEFAULTS: dict[str, DefaultTexts] = {
    ReferralMessage.REFERRAL_REWARDED: {
        "en": (
            "Thanks for inviting {{ friend }}: {{ points }} points",
            "{{ friend }} joined {{ club }} and shopped, so you got {{ points }} points. Thank you!\n\n"
            "Invite more friends: {{ portal_url }}",
            "{{ club }}: {{ friend }} shopped, and you got {{ points }} points. Thanks! {{ portal_url }}",
        ),
        "nb": (
            "Takk for at du vervet {{ friend }}: {{ points }} poeng",
            "{{ friend }} ble medlem i {{ club }} og handlet, så du har fått {{ points }} poeng. Tusen takk!\n\n"
            "Verv flere venner: {{ portal_url }}",
            "{{ club }}: {{ friend }} har handlet, og du har fått {{ points }} poeng. Takk! {{ portal_url }}",
        ),
        "da": (
            "Tak, fordi du anbefalede {{ friend }}: {{ points }} point",
            "{{ friend }} blev medlem af {{ club }} og handlede, så du har fået {{ points }} point. Tusind tak!\n\n"
            "Anbefal flere venner: {{ portal_url }}",
            "{{ club }}: {{ friend }} har handlet, og du har fået {{ points }} point. Tak! {{ portal_url }}",
        ),
        "sv": (
            "Tack för att du värvade {{ friend }}: {{ points }} poäng",
            "{{ friend }} blev medlem i {{ club }} och handlade, så du har fått {{ points }} poäng. Tack!\n\n"
            "Värva fler vänner: {{ portal_url }}",
            "{{ club }}: {{ friend }} har handlat och du har fått {{ points }} poäng. Tack! {{ portal_url }}",
        ),
    },
    ReferralMessage.FRIEND_DISCOUNT: {
        "en": (
            "Your welcome discount: {{ code }}",
            "Welcome to {{ club }}! As a friend of a member you get {{ discount }}.\n\n"
            "Your code: {{ code }}\nEnter it at checkout. It can be used once, until {{ expires }}.",
            "{{ club }}: welcome! Your code {{ code }} gives {{ discount }}. Use it by {{ expires }}.",
        ),
        "nb": (
            "Velkomstrabatten din: {{ code }}",
            "Velkommen til {{ club }}! Som venn av et medlem får du {{ discount }}.\n\n"
            "Koden din: {{ code }}\nSkriv den inn i kassen. Den kan brukes én gang, til og med {{ expires }}.",
            "{{ club }}: velkommen! Koden {{ code }} gir {{ discount }}. Bruk den innen {{ expires }}.",
        ),
        "da": (
            "Din velkomstrabat: {{ code }}",
            "Velkommen til {{ club }}! Som ven af et medlem får du {{ discount }}.\n\n"
            "Din kode: {{ code }}\nIndtast den ved kassen. Den kan bruges én gang, til og med {{ expires }}.",
            "{{ club }}: velkommen! Koden {{ code }} giver {{ discount }}. Brug den senest {{ expires }}.",
        ),
        "sv": (
            "Din välkomstrabatt: {{ code }}",
            "Välkommen till {{ club }}! Som vän till en medlem får du {{ discount }}.\n\n"
            "Din kod: {{ code }}\nAnge den i kassan. Den kan användas en gång, till och med {{ expires }}.",
            "{{ club }}: välkommen! Koden {{ code }} ger {{ discount }}. Använd den senast {{ expires }}.",
        ),
    },
}


def referral_message_kinds_register() -> None:
    """Register the referral programme's kinds of message with ``members.messaging`` (``ReferralsConfig.ready``)."""
    for kind in ReferralMessage:
        message_kind_register(
            kind=kind, label=kind.label, variables=VARIABLES[kind], sample=SAMPLES[kind], defaults=DEFAULTS[kind]
        )
