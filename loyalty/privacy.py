"""The points engine's part of a member's data export and account erasure (registered in ``LoyaltyConfig``).

Erasure keeps the ledger, orders, refunds and vouchers: they hold no name, email or phone (orders carry
amounts and items; webhook payloads carry the member's public id only), and the programme's totals
must stay true. What ties the member to a person at a shop, the shop's customer id, is removed, and reminders
not sent yet are cancelled.
"""

from __future__ import annotations

from typing import Any

from loyalty.models import (
    LedgerEntry,
    Order,
    PointsAccount,
    Refund,
    ReminderStatus,
    ReplenishmentReminder,
    ShopCustomer,
    Voucher,
)
from members.models import Member


def loyalty_export(member: Member) -> dict[str, Any]:
    account = PointsAccount.objects.select_related("tier").filter(member=member).first()
    return {
        "points": {
            "balance": account.balance if account else 0,
            "tier": account.tier.name if account and account.tier else None,
        },
        "ledger": [
            {
                "kind": entry.kind,
                "points": entry.points,
                "balance_after": entry.balance_after,
                "effective_at": entry.effective_at.isoformat(),
                "reason": entry.reason,
                "order_id": entry.order.external_id if entry.order else None,
            }
            for entry in LedgerEntry.objects.filter(member=member).select_related("order").order_by("id")
        ],
        "orders": [
            {
                "shop": order.shop.name,
                "order_id": order.external_id,
                "amount": str(order.amount),
                "currency": order.currency,
                "ordered_at": order.occurred_at.isoformat(),
                "items": order.items,
            }
            for order in Order.objects.filter(member=member).select_related("shop").order_by("occurred_at")
        ],
        "refunds": [
            {
                "shop": refund.shop.name,
                "order_id": refund.order.external_id,
                "amount": str(refund.amount),
                "refunded_at": refund.occurred_at.isoformat(),
                "reason": refund.reason.code if refund.reason else None,
                "note": refund.note,
                "items": [{"sku": line.sku, "quantity": line.quantity} for line in refund.lines.all()],
            }
            for refund in Refund.objects.filter(order__member=member)
            .select_related("shop", "order", "reason")
            .prefetch_related("lines")
        ],
        "vouchers": [
            {"reward": voucher.reward.name, "code": voucher.code, "status": voucher.status, "points": voucher.points}
            for voucher in Voucher.objects.filter(member=member).select_related("reward")
        ],
        "replenishment_reminders": [
            {
                "product": reminder.name or reminder.sku,
                "sku": reminder.sku,
                "order_id": reminder.order.external_id,
                "due_at": reminder.due_at.isoformat(),
                "status": reminder.status,
                "sent_at": reminder.sent_at.isoformat() if reminder.sent_at else None,
            }
            for reminder in ReplenishmentReminder.objects.filter(member=member).select_related("order").order_by("id")
        ],
        "shop_customer_ids": [
            {"shop": link.shop.name, "customer_id": link.external_id}
            for link in ShopCustomer.objects.filter(member=member).select_related("shop")
        ],
    }


def loyalty_erase(member: Member) -> None:
    # The shops' customer ids go; that the member was a shop's customer stays (as their orders do), so the shop,
    # and only it, is told ``member_erased`` and can delete its own copy.
    ShopCustomer.objects.filter(member=member).update(external_id="")
    ReplenishmentReminder.objects.filter(member=member, status=ReminderStatus.SCHEDULED).update(
        status=ReminderStatus.CANCELLED
    )
    # A refund's note is the shop's free text about the return, which may name the person: it goes; the reason and
    # the returned goods stay, like the orders.
    Refund.objects.filter(order__member=member).update(note="")
