"""Which texts staff write per language (django-modeltranslation); see ``loyalty/translation.py``."""

from __future__ import annotations

from modeltranslation.translator import TranslationOptions, register

from members.models import Interest


@register(Interest)
class InterestTranslation(TranslationOptions):
    fields = ("name",)
