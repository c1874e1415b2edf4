"""The points ledger: each member's account, the immutable entries and the lots points are spent from."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models.orders import Order, Refund
from loyalty.models.tiers import Tier
from members.models import Member


class PointsAccount(models.Model):
    """A member's balance and tier. The balance is changed only by ``loyalty.ledger``, the tier only by
    ``loyalty.tiers``, in the transaction that appends the ledger entry, under a row lock on this row."""

    member = models.OneToOneField(
        Member, on_delete=models.PROTECT, primary_key=True, related_name="points", verbose_name=_("member")
    )
    balance = models.BigIntegerField(_("balance"), default=0)
    pending = models.BigIntegerField(
        _("pending"),
        default=0,
        help_text=_("Points in the balance that are not spendable yet (the return window): its open lots' pending."),
    )
    tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("tier")
    )
    tier_since = models.DateTimeField(_("tier since"), null=True, blank=True)
    below_tier_since = models.DateTimeField(
        _("below tier since"),
        null=True,
        blank=True,
        help_text=_("When the tier review first found the member's points below their tier; empty when they are not."),
    )
    tier_held_until = models.DateTimeField(
        _("tier held until"),
        null=True,
        blank=True,
        help_text=_("A tier brought from another programme: the tier review moves the member down no earlier."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [models.CheckConstraint(condition=models.Q(pending__gte=0), name="account_pending_non_negative")]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.balance}"


class ImmutableEntryError(Exception):
    """Ledger entries are never changed or deleted; append a correcting entry instead."""


class LedgerEntryQuerySet(models.QuerySet["LedgerEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableEntryError("Ledger entries cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableEntryError("Ledger entries cannot be deleted.")


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    BONUS = "bonus", _("Bonus")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjustment")
    CLAWBACK = "clawback", _("Clawed back")
    RETURN = "return", _("Returned")  # points spent at a checkout, back: it was abandoned or the order refunded
    # No points move: an order's return window passed, and the tier points it held back count from now on.
    CONFIRM = "confirm", _("Confirmed")
    OPENING = "opening", _("Opening balance")  # a balance brought from another programme (import_balances)


class LedgerEntry(models.Model):
    """One immutable movement of points.

    ``points`` is signed. ``balance_after`` is the member's balance once this entry applied, which
    makes every history row self-explanatory and lets ``check_ledger`` find the first broken row.
    ``tier_points`` is the part that counts towards tiers (base points from orders, less their
    clawbacks); spending or expiring points never lowers it.
    """

    # Indexed by ``entry_member_id_idx``, which leads with it.
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="ledger", verbose_name=_("member"), db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    points = models.BigIntegerField(_("points"))
    balance_after = models.BigIntegerField(_("balance after"))
    tier_points = models.BigIntegerField(_("tier points"), default=0)
    effective_at = models.DateTimeField(_("effective"), default=timezone.now)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    # ``order``, ``refund``, ``staff`` and ``corrects`` are empty on many entries (all of an expiry's or a spend's):
    # each has a partial index of the entries that have one (``Meta.indexes``), which the lookups by them use,
    # rather than an index of every entry.
    order = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("order"),
        db_index=False,
    )
    refund = models.ForeignKey(
        Refund,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("refund"),
        db_index=False,
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("staff member"),
        db_index=False,
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        verbose_name=_("corrects entry"),
        db_index=False,
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects: ClassVar[LedgerEntryQuerySet] = LedgerEntryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["member", "-id"], name="entry_member_id_idx"),
            # Covers the tier window's sum (an index-only scan on PostgreSQL).
            models.Index(fields=["member", "effective_at", "tier_points"], name="entry_member_window_idx"),
            models.Index(fields=["kind", "created_at"], name="entry_kind_created_idx"),
            # The staff dashboard's period figures and points flow
            models.Index(fields=["created_at"], name="entry_created_idx"),
            # The dashboard's points by when they happened (an order's points at the order's date)
            models.Index(fields=["effective_at"], name="entry_effective_idx"),
            models.Index(fields=["order"], condition=models.Q(order__isnull=False), name="entry_order_idx"),
            models.Index(fields=["refund"], condition=models.Q(refund__isnull=False), name="entry_refund_idx"),
            models.Index(fields=["staff"], condition=models.Q(staff__isnull=False), name="entry_staff_idx"),
            models.Index(fields=["corrects"], condition=models.Q(corrects__isnull=False), name="entry_corrects_idx"),
        ]
        constraints = [
            # Every entry moves points, except a confirmation, which only adds the tier points an order held back.
            models.CheckConstraint(
                condition=~models.Q(points=0) | models.Q(kind="confirm", tier_points__gt=0),
                name="entry_points_non_zero",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="confirm") | models.Q(points=0), name="entry_confirm_moves_no_points"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=EntryKind.values), name="entry_kind_known"),
            # Only a clawback (of points already spent) may take a balance below zero; a credit may leave it there,
            # and so may a confirmation, which moves no points.
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0)
                | models.Q(points__gt=0)
                | models.Q(kind__in=[EntryKind.CLAWBACK, EntryKind.CONFIRM]),
                name="entry_only_clawback_goes_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableEntryError("Ledger entries cannot be changed; append a correcting entry.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableEntryError("Ledger entries cannot be deleted; append a correcting entry.")


# Written only by ``loyalty.ledger``: with each entry (``ledger_append``) and in batches (``LedgerBatch``).


class PointsLot(models.Model):
    """Points from one credit entry, spent oldest first (FIFO) and expiring on their own date.

    For every member, the open lots' ``remaining`` add up to the balance when it is positive (and to 0
    when a clawback took it below zero), and the pending lots' (``available_at`` set) to the account's
    ``pending``; ``check_ledger`` proves both. The confirmation job clears ``available_at`` once it passes.
    """

    # Not indexed on its own: every read of a member's lots is of their open lots (``lot_open_idx``), and an
    # index of all lots would take a new entry for each lot the expiry or a spend changes (``remaining`` is in
    # the partial indexes' conditions, so no update of it is HOT). Deleting a member (staff only, and refused
    # once they have points) scans the lots.
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="points_lots", db_index=False)
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot")
    points = models.PositiveIntegerField(_("points"))
    remaining = models.PositiveIntegerField(_("remaining"))
    earned_at = models.DateTimeField(_("earned"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    available_at = models.DateTimeField(
        _("pending until"),
        null=True,
        blank=True,
        help_text=_("Earned by an order within its return window: not spendable, nor expiring, until then."),
    )
    warned_at = models.DateTimeField(_("expiry warning sent"), null=True, blank=True)
    expired = models.PositiveIntegerField(
        _("expired"),
        default=0,
        help_text=_("Points of this lot that expired unspent (the expiry job): the breakage the dashboard estimates."),
    )
    tier_points_waiting = models.PositiveIntegerField(
        _("tier points waiting"),
        default=0,
        help_text=_(
            "Where the programme counts pending points towards tiers only once they are spendable: "
            "the tier points this lot's order adds then."
        ),
    )

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        ordering = ["member", "earned_at", "id"]
        indexes = [
            models.Index(
                fields=["expires_at", "member"], condition=models.Q(remaining__gt=0), name="lot_open_expiry_idx"
            ),
            models.Index(
                fields=["member", "earned_at", "id"], condition=models.Q(remaining__gt=0), name="lot_open_idx"
            ),
            # The confirmation job's scan: only pending lots are in it.
            models.Index(
                fields=["available_at", "member"],
                condition=models.Q(available_at__isnull=False),
                name="lot_pending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remaining__lte=models.F("points")), name="lot_remaining_le_points"
            ),
            models.CheckConstraint(condition=models.Q(points__gt=0), name="lot_points_positive"),
            models.CheckConstraint(condition=models.Q(expired__lte=models.F("points")), name="lot_expired_le_points"),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.points}"
