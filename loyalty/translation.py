"""Which texts staff write per language (django-modeltranslation): ``name`` reads ``name_<language>`` of the
active language and falls back to English (``MODELTRANSLATION_FALLBACK_LANGUAGES``)."""

from __future__ import annotations

from modeltranslation.translator import TranslationOptions, register

from loyalty.models import ReplenishmentRule, ReturnReason, Reward, Tier, WinbackOffer


@register(Tier)
class TierTranslation(TranslationOptions):
    fields = ("name", "benefits")


@register(Reward)
class RewardTranslation(TranslationOptions):
    fields = ("name", "description", "how_to_use")


@register(WinbackOffer)
class WinbackOfferTranslation(TranslationOptions):
    fields = ("offer", "how_to_use")


@register(ReplenishmentRule)
class ReplenishmentRuleTranslation(TranslationOptions):
    fields = ("message",)


@register(ReturnReason)
class ReturnReasonTranslation(TranslationOptions):
    fields = ("label",)
