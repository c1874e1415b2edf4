"""Domain errors raised by loyalty services.

Each has a stable ``code`` (part of the API contract), a message for people, and the offending
``field`` where there is one. They know nothing of HTTP: the API maps each ``code`` to a status
(``loyalty.api.errors.ERROR_STATUS``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class LoyaltyError(Exception):
    code = "loyalty_error"
    default_message = _("The request could not be processed.")
    default_field: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = str(message or self.default_message)
        self.field = field if field is not None else self.default_field
        super().__init__(self.message)


class IdempotencyConflict(LoyaltyError):
    code = "idempotency_conflict"
    default_message = _("This id was already used with different data.")


class MemberNotFound(LoyaltyError):
    code = "member_not_found"
    default_message = _("No member has this id.")
    default_field = "member_id"


class MemberErased(MemberNotFound):
    """The member asked for their personal data to be deleted: the id names nobody any more."""

    code = "member_erased"
    default_message = _("This member's account was deleted at their request.")


class MemberNotCustomer(LoyaltyError):
    """A shop enrolled an email that belongs to a member who is not its customer: nothing was changed."""

    code = "member_not_customer"
    default_message = _(
        "This email already belongs to a member who is not this shop's customer; they become one with their first "
        "order here."
    )
    default_field = "email"


class ScopeMissing(LoyaltyError):
    """The API key was not given the scope this operation needs."""

    code = "scope_missing"

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__(_("This API key does not have the scope %(scope)s.") % {"scope": scope})


class MemberNotEnrollable(LoyaltyError):
    code = "member_not_enrollable"
    default_message = _("No member matches, and there is no email address or phone number to enrol one with.")
    default_field = "member"


class PhoneInUse(LoyaltyError):
    code = "phone_in_use"
    default_message = _("Another member already has this phone number.")
    default_field = "phone"


class CurrencyMismatch(LoyaltyError):
    code = "currency_mismatch"
    default_message = _("The currency is not the shop's currency.")
    default_field = "currency"


class AmountOutOfRange(LoyaltyError):
    code = "amount_out_of_range"
    default_message = _("The amount is larger than any order this club accepts.")
    default_field = "amount"


class OrderNotFound(LoyaltyError):
    code = "order_not_found"
    default_message = _("This shop has no order with that id.")
    default_field = "order_id"


class NothingLeftToRefund(LoyaltyError):
    """A platform's refund of an order refunded in full already (its own rounding, a late duplicate)."""

    code = "nothing_left_to_refund"
    default_message = _("Nothing is left of this order to refund.")
    default_field = "amount"


class RefundExceedsOrder(LoyaltyError):
    code = "refund_exceeds_order"
    default_message = _("The refunds would add up to more than the order amount.")
    default_field = "amount"


class UnknownReturnReason(LoyaltyError):
    """A reason code that is not one of the club's active return reasons (staff keep the list)."""

    code = "unknown_return_reason"
    default_message = _("This is not one of the club's return reasons.")
    default_field = "reason"


class ReturnedItemNotInOrder(LoyaltyError):
    code = "returned_item_not_in_order"
    default_message = _("A returned item's SKU is not in the order.")
    default_field = "items"


class ReturnExceedsOrdered(LoyaltyError):
    code = "return_exceeds_ordered"
    default_message = _("More of an item would be returned than was ordered.")
    default_field = "items"


class InsufficientPoints(LoyaltyError):
    code = "insufficient_points"
    default_message = _("The member does not have enough points.")
    default_field = "points"


class InvalidPoints(LoyaltyError):
    code = "invalid_points"
    default_message = _("Points must be a whole number other than zero.")
    default_field = "points"


class ReasonRequired(LoyaltyError):
    code = "reason_required"
    default_message = _("Say why the points are adjusted.")
    default_field = "reason"


class TaxExceedsAmount(LoyaltyError):
    code = "tax_exceeds_amount"
    default_message = _("The VAT cannot be more than the amount.")
    default_field = "tax"


class OccurredInFuture(LoyaltyError):
    code = "occurred_in_future"
    default_message = _("The order time is in the future.")
    default_field = "occurred_at"


# --- Rewards and vouchers ---------------------------------------------------------------------------


class RewardUnavailable(LoyaltyError):
    code = "reward_unavailable"
    default_message = _("This reward is not available now.")
    default_field = "reward"


class RewardOutOfStock(LoyaltyError):
    code = "reward_out_of_stock"
    default_message = _("This reward is out of stock.")
    default_field = "reward"


class RewardLimitReached(LoyaltyError):
    code = "reward_limit_reached"
    default_message = _("The member already has as many of this reward as one member may.")
    default_field = "reward"


class TierNotAllowed(LoyaltyError):
    code = "tier_not_allowed"
    default_message = _("This reward is not offered to the member's tier.")
    default_field = "reward"


class VoucherNotFound(LoyaltyError):
    code = "voucher_not_found"
    default_message = _("No voucher has this code.")
    default_field = "code"


class VoucherAlreadyUsed(LoyaltyError):
    code = "voucher_already_used"
    default_message = _("This voucher was already used on another order.")
    default_field = "code"


class VoucherCancelled(LoyaltyError):
    code = "voucher_cancelled"
    default_message = _("This voucher was cancelled.")
    default_field = "code"


class VoucherExpired(LoyaltyError):
    code = "voucher_expired"
    default_message = _("This voucher has expired.")
    default_field = "code"


class VoucherNotCancellable(LoyaltyError):
    code = "voucher_not_cancellable"
    default_message = _("Only vouchers that have not been used can be cancelled.")
    default_field = "code"


class UnknownEventType(LoyaltyError):
    code = "unknown_event_type"
    default_message = _("No active points action has this event type.")
    default_field = "type"


class AdjustmentOverLimit(LoyaltyError):
    code = "adjustment_over_limit"
    default_message = _("This adjustment is larger than you may make; ask a programme manager.")
    default_field = "points"


# --- Points spent at a shop's checkout ---------------------------------------------------------------


class MemberNotMatched(MemberNotFound):
    """A request's ``member`` names nobody (the path's member id not existing is plain ``MemberNotFound``)."""

    default_message = _("No member matches this email, phone or customer id.")
    default_field = "member"


class BelowMinimum(LoyaltyError):
    code = "below_minimum"
    default_message = _("That is fewer points than the smallest redemption.")
    default_field = "points"


class NotAStep(LoyaltyError):
    code = "not_a_step"
    default_message = _("Points are spent in fixed steps above the smallest redemption.")
    default_field = "points"


class ExceedsOrderShare(LoyaltyError):
    code = "exceeds_order_share"
    default_message = _("Points may pay only part of an order.")
    default_field = "points"


class RedemptionNotFound(LoyaltyError):
    code = "redemption_not_found"
    default_message = _("This shop has no redemption with that id.")
    default_field = "redemption_id"


class RedemptionCaptured(LoyaltyError):
    code = "redemption_captured"
    default_message = _("This redemption was already captured.")
    default_field = "redemption_id"


class RedemptionReleased(LoyaltyError):
    code = "redemption_released"
    default_message = _("This redemption was released; its points went back to the member.")
    default_field = "redemption_id"


# The storefront widget
class StorefrontUnknown(LoyaltyError):
    code = "storefront_unknown"
    default_message = _("No active storefront has this key.")
    default_field = "key"


class IdentityRefused(LoyaltyError):
    """A page's signed customer identity (or the widget's token for it) does not prove a member."""

    code = "identity_refused"
    default_message = _("The customer's identity could not be verified.")
    default_field = "signature"


class IdentityInvalid(IdentityRefused):
    code = "identity_invalid"
    default_message = _("The customer's signature does not match.")


class IdentityExpired(IdentityRefused):
    code = "identity_expired"
    default_message = _("The customer's signature is too old; reload the page.")
    default_field = "timestamp"


class TokenInvalid(IdentityRefused):
    code = "token_invalid"
    default_message = _("The widget's token is not valid here, or it ran out; ask for a new one.")
    default_field = "token"
