"""Phone numbers are stored in E.164 (``+4791234567``)."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_REGION = "NO"


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Parse a phone number as a person types it and return it in E.164, or raise ``ValidationError``."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Enter a valid phone number, e.g. +47 912 34 567."), code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number, e.g. +47 912 34 567."), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
