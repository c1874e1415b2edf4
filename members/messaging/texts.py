"""The texts ``members`` owns: the greeting every email starts with, and its one kind, the welcome.

Each text is in Django's template language; every message also gets ``first_name``, ``club`` and
``portal_url``. The unsubscribe line is added when a message is sent and is not part of these texts.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.message_kinds import DefaultTexts


class MemberMessage(models.TextChoices):
    """The kinds of message ``members`` sends itself (other apps register theirs)."""

    WELCOME = "welcome", _("Welcome")


# Heads every email, above the kind's text.
GREETING = {
    "en": "Hi{% if first_name %} {{ first_name }}{% endif %}!",
    "nb": "Hei{% if first_name %} {{ first_name }}{% endif %}!",
    "da": "Hej{% if first_name %} {{ first_name }}{% endif %}!",
    "sv": "Hej{% if first_name %} {{ first_name }}{% endif %}!",
}

WELCOME_TEXTS: DefaultTexts = {
    "en": (
        "Welcome to {{ club }}!",
        "Welcome to {{ club }}. You earn points every time you shop, and your points become rewards.\n\n"
        "See your points and rewards: {{ portal_url }}",
        "Welcome to {{ club }}! See your points and rewards: {{ portal_url }}",
    ),
    "nb": (
        "Velkommen til {{ club }}!",
        "Velkommen til {{ club }}. Du får poeng hver gang du handler, og poengene blir til belønninger.\n\n"
        "Se poengene og belønningene dine: {{ portal_url }}",
        "Velkommen til {{ club }}! Se poengene og belønningene dine: {{ portal_url }}",
    ),
    "da": (
        "Velkommen til {{ club }}!",
        "Velkommen til {{ club }}. Du får point, hver gang du handler, og dine point bliver til belønninger.\n\n"
        "Se dine point og belønninger: {{ portal_url }}",
        "Velkommen til {{ club }}! Se dine point og belønninger: {{ portal_url }}",
    ),
    "sv": (
        "Välkommen till {{ club }}!",
        "Välkommen till {{ club }}. Du får poäng varje gång du handlar, och poängen blir till belöningar.\n\n"
        "Se dina poäng och belöningar: {{ portal_url }}",
        "Välkommen till {{ club }}! Se dina poäng och belöningar: {{ portal_url }}",
    ),
}
