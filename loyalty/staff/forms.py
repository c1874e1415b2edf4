"""Forms of the staff admin pages (adjust points, preview earning rules, message a segment). They parse input;
the services decide what is allowed."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils.translation import gettext_lazy as _

from loyalty.campaigns import ItemLine
from loyalty.errors import LoyaltyError
from loyalty.models import BalanceImport, LedgerEntry, Shop, Tier
from loyalty.openings import COLUMN_PRESETS
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


class EarningPreviewForm(forms.Form):
    """A sample order for the earning rules' preview."""

    shop = forms.ModelChoiceField(label=_("Shop"), queryset=Shop.objects.all())
    tier = forms.ModelChoiceField(label=_("Tier"), queryset=Tier.objects.all(), required=False)
    amount = forms.DecimalField(label=_("Qualifying amount"), max_digits=14, decimal_places=2, min_value=0)
    tax = forms.DecimalField(label=_("VAT in amount"), max_digits=14, decimal_places=2, min_value=0, initial=0)
    occurred_at = forms.SplitDateTimeField(
        label=_("Ordered at"), widget=AdminSplitDateTime, help_text=_("Rules in force at this time apply.")
    )
    items = forms.CharField(
        label=_("Items"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("One line per item: SKU, category, quantity, unit price."),
    )

    def clean_items(self) -> list[ItemLine]:
        lines = []
        for number, line in enumerate(self.cleaned_data.get("items", "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split(",")]
            try:
                sku, category, quantity, price = parts
                lines.append(ItemLine(sku=sku, category=category, quantity=int(quantity), unit_price=Decimal(price)))
            except (ValueError, InvalidOperation) as exc:
                raise forms.ValidationError(
                    _("Line %(number)s is not: SKU, category, quantity, unit price.") % {"number": number}
                ) from exc
        return lines


class SegmentMessageForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200, help_text=_("Email only."))
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 70}),
        help_text=_("Sent as it is, inside the segment message template of each member's language."),
    )


# The file's columns: Klubb's own names, or another programme's export (README, "Moving from another programme").
COLUMN_CHOICES = {"klubb": _("Klubb (email, phone, external_id, points, tier, expires_at)"), "smile": "Smile.io",
                  "loyaltylion": "LoyaltyLion"}  # fmt: skip
MAX_UPLOAD_BYTES = 50 * 2**20


class BalanceImportForm(forms.Form):
    """Opening balances from another programme: the file, the batch id that makes the import safe to repeat,
    and whether to try it first."""

    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, comma-separated, with a header line."))
    batch_id = forms.CharField(
        label=_("Batch id"),
        max_length=BalanceImport._meta.get_field("batch_id").max_length,
        help_text=_("Names this import. Uploading the same file with the same id again changes nothing."),
    )
    columns = forms.ChoiceField(label=_("Columns"), choices=[(key, COLUMN_CHOICES[key]) for key in COLUMN_PRESETS])
    shop = forms.ModelChoiceField(
        label=_("Shop"),
        queryset=Shop.objects.all(),
        required=False,
        help_text=_("To find members by this shop's customer ids (the external_id column)."),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run"), required=False, initial=True, help_text=_("Report what would change; change nothing.")
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 50 MB; import it with manage.py import_balances."), code="too_large"
            )
        return upload
