"""Members: how a shop names one, looks one up or enrols one, a member with their standing, and consents."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from loyalty.api.serializers.fields import AtLeastOneOf, CopiedFields, PhoneField, StrictCharField, StrictEmailField
from loyalty.selectors import Standing


class MemberRefSerializer(CopiedFields, AtLeastOneOf, serializers.Serializer):
    """How a shop names a member: by email, phone or its own customer id (at least one of them); the names are
    for enrolling someone new."""

    at_least_one_of = ("email", "phone", "external_id")

    email = StrictEmailField(required=False, allow_blank=True, max_length=254)
    phone = PhoneField(required=False, allow_blank=True, max_length=32)
    external_id = StrictCharField(required=False, allow_blank=True, max_length=100)
    first_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    last_name = StrictCharField(required=False, allow_blank=True, max_length=150)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not self.given(attrs):
            raise serializers.ValidationError(
                "Name the member by email, phone or external_id.", code="member_identifier_required"
            )
        return attrs


class TierBenefitSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=["free_shipping", "percent_off", "points_multiplier", "text"],
        help_text="What a checkout can apply: free shipping, a percent off, more points, or text only.",
    )
    value = serializers.CharField(allow_null=True, help_text="The percent or the multiplier, as a decimal string.")
    text = serializers.CharField(help_text="For members, in the language of the request.")


class TierSerializer(serializers.Serializer):
    name = serializers.CharField()
    threshold = serializers.IntegerField()
    multiplier = serializers.DecimalField(max_digits=5, decimal_places=2)
    colour = serializers.CharField()
    benefits = serializers.ListField(child=serializers.CharField(), source="benefit_list")
    typed_benefits = TierBenefitSerializer(many=True, help_text="The tier's benefits with a type a checkout can apply.")


class MemberSerializer(serializers.Serializer):
    """A member with their standing; built from a ``(member, standing, external_id)`` triple."""

    member_id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    phone = serializers.CharField()
    language = serializers.CharField()
    birthday = serializers.DateField(allow_null=True)
    external_id = serializers.CharField(allow_null=True, help_text="This shop's customer id for the member.")
    enrolled_at = serializers.DateTimeField()
    balance = serializers.IntegerField(help_text="Points the member holds: every entry of their ledger added up.")
    spendable = serializers.IntegerField(help_text="What the member can spend now, at a checkout or on rewards.")
    pending = serializers.IntegerField(help_text="Earned, but not spendable until the return window has passed.")
    reserved = serializers.IntegerField(
        help_text="Held for checkouts not completed yet: already out of `balance`, back if the checkout is abandoned."
    )
    tier = TierSerializer(allow_null=True)
    next_tier = TierSerializer(allow_null=True)
    tier_points = serializers.IntegerField(help_text="Qualifying points in the tier window.")
    points_to_next_tier = serializers.IntegerField()
    progress_percent = serializers.IntegerField()

    @staticmethod
    def build(*, member: Any, standing: Standing, external_id: str | None) -> dict[str, Any]:
        return {
            "member_id": member.public_id,
            "email": member.user.email,
            "first_name": member.user.first_name,
            "last_name": member.user.last_name,
            "phone": member.phone,
            "language": member.language,
            "birthday": member.birthday,
            "external_id": external_id,
            "enrolled_at": member.enrolled_at,
            "balance": standing.balance,
            "spendable": standing.spendable,
            "pending": standing.pending,
            "reserved": standing.reserved,
            "tier": standing.tier,
            "next_tier": standing.next_tier,
            "tier_points": standing.tier_points,
            "points_to_next_tier": standing.points_to_next_tier,
            "progress_percent": standing.progress_percent,
        }


class MemberLookupSerializer(serializers.Serializer):
    email = StrictEmailField(required=False)
    phone = PhoneField(required=False)
    external_id = StrictCharField(required=False, max_length=100)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A query parameter given but empty is a mistake in the caller's code, not "no filter".
        for name in self.fields:
            if name in self.initial_data and not str(self.initial_data.get(name, "")).strip():
                raise serializers.ValidationError({name: "This filter may not be blank."}, code="blank")
        if not attrs:
            raise serializers.ValidationError("Look members up by email, phone or external_id.", code="filter_required")
        return attrs


class MemberCreateInputSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)
    first_name = StrictCharField(required=False, allow_blank=True, max_length=150, default="")
    last_name = StrictCharField(required=False, allow_blank=True, max_length=150, default="")
    phone = PhoneField(required=False, allow_blank=True, max_length=32, default="")
    language = serializers.ChoiceField(choices=[code for code, _name in settings.LANGUAGES], required=False, default="")
    birthday = serializers.DateField(required=False, allow_null=True, default=None)
    external_id = StrictCharField(required=False, allow_blank=True, max_length=100, default="")
    referral_code = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=32,
        default="",
        help_text="The code of the member who referred this one (case-insensitive).",
    )


# --- Marketing consents ---------------------------------------------------------------------------------


class ConsentsSerializer(AtLeastOneOf, serializers.Serializer):
    """A member's marketing consents. On PUT, a channel left out is left as it is."""

    at_least_one_of = ("email_marketing", "sms_marketing")

    email_marketing = serializers.BooleanField(required=False)
    sms_marketing = serializers.BooleanField(required=False)
    wording = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        write_only=True,
        help_text="The consent text the customer agreed to at the shop, kept as proof.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not self.given(attrs):
            raise serializers.ValidationError(
                {"email_marketing": "Give email_marketing, sms_marketing or both."}, code="required"
            )
        return attrs
