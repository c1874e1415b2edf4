"""Opening balances: members' points brought from another programme (``manage.py import_balances`` and the
staff upload), one import batch at a time."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty.models.ledger import LedgerEntry
from members.models import Member


class BalanceImport(models.Model):
    """One import of opening balances, named by the batch id staff chose. The batch id is the import's
    idempotency key: the same id with the same file (``digest``) goes on where a run stopped, or does nothing
    once the batch is finished; the same id with another file is refused."""

    batch_id = models.CharField(_("batch id"), max_length=100, unique=True)
    digest = models.CharField(_("file digest"), max_length=64, help_text=_("SHA-256 of the imported file."))
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("staff member"),
    )
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    report = models.JSONField(
        _("report"), default=dict, blank=True, help_text=_("The last run's counts and refused lines.")
    )

    class Meta:
        verbose_name = _("balance import")
        verbose_name_plural = _("balance imports")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return str(self.batch_id)


class OpeningBalance(models.Model):
    """A member's one opening balance: which import gave it, from which line, as which ledger entry. A member
    has at most one, so a line applies once even when a run is stopped and started again."""

    member = models.OneToOneField(
        Member, on_delete=models.PROTECT, related_name="opening_balance", verbose_name=_("member")
    )
    batch = models.ForeignKey(
        BalanceImport, on_delete=models.PROTECT, related_name="openings", verbose_name=_("balance import")
    )
    entry = models.OneToOneField(
        LedgerEntry, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("ledger entry")
    )
    line = models.PositiveIntegerField(_("line"))

    class Meta:
        verbose_name = _("opening balance")
        verbose_name_plural = _("opening balances")

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.member_id}"
