"""Forms for staff. They parse input; ``loyalty.services`` decides what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty.errors import LoyaltyError
from loyalty.models import LedgerEntry
from members.models import Member

# Far beyond any real adjustment, and well inside the ledger's 64-bit columns.
MAX_ADJUSTMENT = 100_000_000


class PointsAdjustForm(forms.Form):
    """A staff correction of a member's balance: how many points, why, and which entry it corrects."""

    points = forms.IntegerField(
        label=_("Points"),
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text=_(
            "Positive to add points, negative to remove them. A removal cannot take the balance below zero; "
            "only a clawback from a refund can."
        ),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=LedgerEntry._meta.get_field("reason").max_length,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("Stored on the ledger entry with your name, and shown in the member's history."),
    )
    corrects = forms.ModelChoiceField(
        label=_("Corrects entry"),
        queryset=LedgerEntry.objects.none(),
        required=False,
        widget=forms.NumberInput(attrs={"min": 1}),
        error_messages={"invalid_choice": _("This member has no ledger entry with that id.")},
        help_text=_("Optional: the id of this member's entry that this adjustment corrects."),
    )

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.member = member
        self.fields["corrects"].queryset = LedgerEntry.objects.filter(member=member)  # type: ignore[attr-defined]

    def clean_points(self) -> int | None:
        points = self.cleaned_data.get("points")
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than zero."), code="zero")
        return points

    def add_service_error(self, error: LoyaltyError) -> None:
        """Show a service's refusal next to the field it concerns, or above the form."""
        field = error.field if error.field in self.fields else None
        self.add_error(field, error.message)
