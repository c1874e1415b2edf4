"""Only staff with two-factor authentication get into any admin URL (the resolver is walked, so a new admin page
is covered at once), and each ready role gets its own part of the admin."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.permission_world import (
    ACTORS,
    ROLES,
    actor_client,
    all_routes,
    route_parameters,
    world_fixture,  # noqa: F401 (the fixture ``world``)
)

pytestmark = pytest.mark.django_db

ADMIN_FILL = {"app_label": "members", "object_id": "1", "content_type_id": "1", "user_id": "1", "id": "1"}


def admin_urls() -> list[str]:
    urls = []
    for route, name, namespace in all_routes():
        if not route.startswith("admin/") or name is None:
            continue
        pattern_kwargs = route_parameters(route)
        kwargs = {key: ADMIN_FILL.get(key, "1") for key in pattern_kwargs}
        urls.append(reverse(f"{namespace}:{name}" if namespace else name, kwargs=kwargs or None))
    return sorted(set(urls))


def test_only_staff_with_two_factor_get_into_any_admin_url(world):
    urls = admin_urls()
    assert len(urls) > 50 and "/admin/" in urls
    outsiders = {actor: actor_client(world, actor) for actor in ACTORS if actor not in ("staff", *ROLES)}
    staff_without_2fa = UserFactory(email="new-boss@example.com", is_staff=True, is_superuser=True)
    outsiders["staff_without_two_factor"] = Client()
    outsiders["staff_without_two_factor"].force_login(staff_without_2fa)
    for url in urls:
        for actor, client in outsiders.items():
            # Never the page: a redirect (to the login, the portal or the admin index, itself refused), or an error.
            response = client.get(url)
            assert response.status_code in (302, 401, 403, 404, 405), (actor, url, response.status_code)
    staff = actor_client(world, "staff")
    parameterless = [url for url in urls if "/1/" not in url and not url.endswith("/members/")]
    for url in parameterless:
        if url.endswith(("/logout/", "/autocomplete/")):  # POST only; needs the widget's query parameters
            continue
        status = staff.get(url).status_code
        is_changelist = re.fullmatch(r"/admin/\w+/\w+/", url) is not None
        # Staff get every changelist; an add page of a read-only model (keys, received webhooks) is a 403.
        assert status == 200 if is_changelist or url == "/admin/" else status in (200, 302, 403), (url, status)


# Each role's part of the admin: (URL, support, programme manager), 200 for the page, 403 refused.
ROLE_PAGES = [
    ("/admin/", 200, 200),
    ("/admin/members/member/", 200, 200),
    ("/admin/loyalty/ledgerentry/", 200, 200),
    ("/admin/members/message/", 200, 200),
    ("/admin/loyalty/earningrule/", 403, 200),
    ("/admin/loyalty/earningrule/add/", 403, 200),
    ("/admin/loyalty/tier/add/", 403, 200),
    ("/admin/loyalty/reward/add/", 403, 200),
    ("/admin/loyalty/segment/", 403, 200),
    ("/admin/loyalty/shop/", 403, 200),
    ("/admin/loyalty/apikey/", 403, 200),
    ("/admin/loyalty/balanceimport/", 403, 200),
    ("/admin/loyalty/balanceimport/add/", 403, 200),
    ("/admin/dashboard/", 403, 200),
    ("/admin/members/auditentry/", 403, 200),
    ("/admin/auth/group/", 403, 403),
    ("/admin/members/user/", 403, 403),
]


@pytest.mark.parametrize(("url", "support", "manager"), ROLE_PAGES)
def test_each_role_gets_its_own_part_of_the_admin(world, url, support, manager):
    got = {role: actor_client(world, role).get(url).status_code for role in ROLES}
    assert got == {"support": support, "manager": manager}
