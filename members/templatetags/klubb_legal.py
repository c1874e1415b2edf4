"""The club's name, and the addresses of its privacy policy and terms: the club's own (``KLUBB_PRIVACY_URL``,
``KLUBB_TERMS_URL``) or, when it has none, Klubb's built-in pages."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


@register.simple_tag
def privacy_url() -> str:
    return settings.KLUBB_PRIVACY_URL or reverse("privacy-policy")


@register.simple_tag
def terms_url() -> str:
    return settings.KLUBB_TERMS_URL or reverse("terms")


@register.simple_tag
def club_name() -> str:
    """The club's name (``KLUBB_CLUB_NAME``), as the pages allauth renders call it."""
    return settings.KLUBB_CLUB_NAME
