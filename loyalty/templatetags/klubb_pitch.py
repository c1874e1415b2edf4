"""``{% club_pitch %}``: what the club gives, on the sign-up and log-in pages (``loyalty.portal.pitch``)."""

from __future__ import annotations

from typing import Any

from django import template

from loyalty.portal.pitch import club_pitch as pitch_read

register = template.Library()


@register.inclusion_tag("loyalty/includes/pitch.html")
def club_pitch(heading: str = "signup") -> dict[str, Any]:
    return {"pitch": pitch_read(), "heading": heading}
