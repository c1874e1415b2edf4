"""The admin's breadcrumbs name the navigation group a model is in ("Orders and points"), not its Django app."""

from __future__ import annotations

from django import template
from django.db.models.options import Options
from django.urls import reverse

from members.admin_site import admin_group_of

register = template.Library()


@register.inclusion_tag("admin/klubb/group_crumb.html")
def group_crumb(opts: Options) -> dict[str, str]:
    """The crumbs "Home", then the group, linked, for the breadcrumbs of ``opts``'s model pages."""
    group = admin_group_of(opts.app_label, opts.model_name)
    return {"name": str(group.name), "url": reverse("admin:group", kwargs={"slug": group.slug})}
