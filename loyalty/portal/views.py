"""Member portal pages about points: the dashboard, activity, rewards and vouchers.

Views stay thin: they read through ``loyalty.selectors`` and write through the services (``loyalty.rewards``).
Every page shows only the logged-in member's own data; there is no member id in any URL.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from loyalty.errors import LoyaltyError
from loyalty.models import EntryKind
from loyalty.rewards.catalogue import reward_redeem
from loyalty.selectors import (
    checkout_offers,
    member_entries,
    member_next_expiry,
    member_pending,
    member_standing,
    member_vouchers,
    reward_offers,
    voucher_by_code,
)
from members.decorators import member_required
from members.models import Member

RECENT_ENTRIES = 5
ENTRIES_PER_PAGE = 25
READY_VOUCHERS = 3
# The activity filter in the member's words (the ledger's own labels, e.g. "Clawed back", are for staff).
ACTIVITY_KINDS = [
    (EntryKind.EARN, gettext_lazy("Points from orders")),
    (EntryKind.BONUS, gettext_lazy("Bonus points")),
    (EntryKind.REDEEM, gettext_lazy("Points spent")),
    (EntryKind.RETURN, gettext_lazy("Points given back")),
    (EntryKind.CLAWBACK, gettext_lazy("Returns")),
    (EntryKind.EXPIRE, gettext_lazy("Expired points")),
    (EntryKind.ADJUST, gettext_lazy("Corrections by the club")),
    (EntryKind.OPENING, gettext_lazy("Points brought over")),  # from the club's previous programme
]


def dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "loyalty/welcome.html")
    return _dashboard(request)


@member_required
def _dashboard(request: HttpRequest, member: Member) -> HttpResponse:
    standing = member_standing(member=member)
    offers = reward_offers(member=member, standing=standing)
    redeemable = [offer for offer in offers if offer.redeemable]
    next_goal = min((o for o in offers if o.state == "save_up"), key=lambda o: o.points_missing, default=None)
    ready = list(member_vouchers(member=member, unused_only=True)[: READY_VOUCHERS + 1])
    context = {
        "member": member,
        "standing": standing,
        "expiry": member_next_expiry(member=member),
        "pending": member_pending(member=member),
        "ready_vouchers": ready[:READY_VOUCHERS],
        "more_vouchers": len(ready) > READY_VOUCHERS,
        "redeemable": redeemable[:3],
        "redeemable_count": len(redeemable),
        "next_goal": next_goal,
        "recent_entries": list(member_entries(member=member)[:RECENT_ENTRIES]),
    }
    return render(request, "loyalty/dashboard.html", context)


@member_required
def activity(request: HttpRequest, member: Member) -> HttpResponse:
    """The whole history, 25 at a time; "Load more" fetches the next page as an htmx partial."""
    kind = request.GET.get("kind", "")
    entries = member_entries(member=member)
    if kind in EntryKind.values:
        entries = entries.filter(kind=kind)
    else:
        kind = ""
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"member": member, "page": page, "kind": kind, "kinds": ACTIVITY_KINDS}
    if request.htmx and request.GET.get("page"):
        return render(request, "loyalty/activity.html#entries", context)
    if request.htmx:
        return render(request, "loyalty/activity.html#history", context)
    return render(request, "loyalty/activity.html", context)


@member_required
def rewards(request: HttpRequest, member: Member) -> HttpResponse:
    standing = member_standing(member=member)
    context = {
        "member": member,
        "standing": standing,
        "offers": reward_offers(member=member, standing=standing),
        "checkout_offers": checkout_offers(spendable=standing.spendable),
    }
    return render(request, "loyalty/rewards.html", context)


@member_required
@require_http_methods(["GET", "POST"])
def reward_detail(request: HttpRequest, member: Member, reward_id: int) -> HttpResponse:
    """Show the reward and ask for one confirmation; the POST redeems it."""
    standing = member_standing(member=member)
    offer = next((o for o in reward_offers(member=member, standing=standing) if o.reward.pk == reward_id), None)
    if offer is None:
        raise Http404
    if request.method == "POST":
        try:
            voucher = reward_redeem(
                member=member,
                reward=offer.reward,
                request_key=request.POST.get("request_key", "")[:64],
            )
        except LoyaltyError as error:
            messages.error(request, _redeem_refusal(error))
            return redirect("portal:reward", reward_id=reward_id)
        left = voucher.redeem_entry.balance_after
        messages.success(
            request,
            ngettext(
                "Done! Here is your voucher. You have %(points)s point left.",
                "Done! Here is your voucher. You have %(points)s points left.",
                left,
            )
            % {"points": intcomma(left)},
        )
        return redirect("portal:voucher", code=voucher.code)
    context = {
        "member": member,
        "standing": standing,
        "offer": offer,
        "reward": offer.reward,
        "request_key": secrets.token_urlsafe(24),
        "balance_after": standing.balance - offer.reward.points_cost,
    }
    return render(request, "loyalty/reward_detail.html", context)


def _redeem_refusal(error: LoyaltyError) -> str:
    """The member-facing reason, in their language, for each refusal of ``reward_redeem``."""
    reasons = {
        "insufficient_points": _("You do not have enough points for this reward yet."),
        "reward_out_of_stock": _("Sorry, this reward has just run out."),
        "reward_limit_reached": _("You already have as many of this reward as one member may."),
        "tier_not_allowed": _("This reward is for other levels than yours."),
        "reward_unavailable": _("This reward is not available right now."),
    }
    return reasons.get(error.code, _("This reward could not be redeemed. Nothing was taken from your points."))


@member_required
def vouchers(request: HttpRequest, member: Member) -> HttpResponse:
    return render(request, "loyalty/vouchers.html", {"member": member, "vouchers": member_vouchers(member=member)})


@member_required
def voucher_detail(request: HttpRequest, member: Member, code: str) -> HttpResponse:
    voucher = voucher_by_code(code=code)
    if voucher is None or voucher.member_id != member.pk:
        raise Http404
    return render(request, "loyalty/voucher.html", {"member": member, "voucher": voucher})
