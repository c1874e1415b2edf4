"""Member portal pages. Points and tiers are read through ``loyalty`` selectors, registered at start-up
(``members`` does not import ``loyalty``: see ``members.portal``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.portal import standing_context


def home(request: HttpRequest) -> HttpResponse:
    member = getattr(request.user, "member", None) if request.user.is_authenticated else None
    context = standing_context(member) if member is not None else {}
    return render(request, "members/home.html", {"member": member, **context})
