"""Events: a member's action a shop reports for points (a product review), and the result."""

from __future__ import annotations

from rest_framework import serializers

from loyalty.api.serializers.fields import StrictCharField, StrictDateTimeField, StrictSlugField, external_id_validator
from loyalty.api.serializers.members import MemberRefSerializer


class EventCreateInputSerializer(serializers.Serializer):
    type = StrictSlugField(max_length=50, help_text="The event type staff set up, e.g. `product_review`.")
    idempotency_key = StrictCharField(
        max_length=100,
        validators=[external_id_validator],
        help_text="Unique per shop: the same key again returns the first result.",
    )
    member = MemberRefSerializer()
    occurred_at = StrictDateTimeField(required=False, allow_null=True, default=None)
    data = serializers.DictField(
        required=False, default=dict, help_text="Anything about the event (e.g. the product reviewed); kept in the key."
    )


class EventResultSerializer(serializers.Serializer):
    event_id = serializers.CharField(help_text="The idempotency key.")
    type = serializers.CharField()
    member_id = serializers.UUIDField()
    points_awarded = serializers.IntegerField()
    limited = serializers.BooleanField(help_text="True when the action's limit for this member was reached.")
    balance = serializers.IntegerField()
