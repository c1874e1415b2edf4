from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.models import Member


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in and a club member; the view gets the member as its second argument.

    Staff without a membership get a page saying so, not an error.
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        member = Member.objects.select_related("user").filter(user=request.user).first()
        if member is None:
            return render(request, "members/not_a_member.html", status=403)
        return view(request, member, *args, **kwargs)

    return wrapper
