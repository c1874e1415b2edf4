"""The admin's navigation by task: groups in the order staff think of the work, internal tables out of sight."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from loyalty.roles import PROGRAMME_MANAGER, ROLE_PERMISSIONS, SUPPORT
from members.admin_site import ADMIN_GROUPS
from tests.conftest import give_two_factor
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def staff_client(client, *, role: str | None = None, superuser: bool = False):
    user = UserFactory(email=f"{role or 'root'}@example.com".replace(" ", "-"), is_staff=True, is_superuser=superuser)
    if role:
        user.groups.add(Group.objects.get(name=role))
    give_two_factor(user)
    client.force_login(user)
    return client


def key(model: dict) -> str:
    return f"{model['model']._meta.app_label}.{model['model']._meta.model_name}" if "model" in model else "dashboard"


def index_groups(client) -> list[tuple[str, list[str]]]:
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return [(str(group["name"]), [key(m) for m in group["models"]]) for group in response.context["app_list"]]


def by_name_dashboard(groups: list[tuple[str, list[str]]]) -> list[str]:
    return dict(groups)["Insight"]


def test_the_index_shows_the_groups_in_order_with_their_models(client):
    groups = index_groups(staff_client(client, superuser=True))
    names = [name for name, _models in groups]
    assert by_name_dashboard(groups) == ["dashboard"]
    assert names == [
        "Insight",
        "Members",
        "Orders and points",
        "Rewards and vouchers",
        "Campaigns",
        "Referrals",
        "Messages",
        "Shops and integrations",
        "Settings",
        "System",
    ]
    by_name = dict(groups)
    assert by_name["Members"] == ["members.member", "loyalty.shopcustomer", "loyalty.balanceimport"]
    assert by_name["Orders and points"][:4] == [
        "loyalty.order",
        "loyalty.refund",
        "loyalty.returnreason",
        "loyalty.ledgerentry",
    ]
    assert "loyalty.voucher" in by_name["Rewards and vouchers"]
    assert "loyalty.earningrule" in by_name["Campaigns"]
    assert by_name["Referrals"][0] == "referrals.referral"
    assert "members.message" in by_name["Messages"]
    assert "loyalty.shop" in by_name["Shops and integrations"]
    assert "loyalty.programme" in by_name["Settings"]
    assert {"loyalty.outboxevent", "loyalty.earningruleuse", "socialaccount.socialtoken"} <= set(by_name["System"])
    # Every registered model is somewhere, once.
    shown = [model for _name, models in groups[1:] for model in models]
    registered = {f"{model._meta.app_label}.{model._meta.model_name}" for model in admin.site._registry}
    assert sorted(shown) == sorted(registered)
    page = client.get(reverse("admin:index")).content.decode()
    assert page.index("Orders and points") < page.index("Rewards and vouchers") < page.index("Shops and integrations")
    assert f'href="{reverse("staff-dashboard")}"' in page


def test_internal_tables_are_hidden_from_staff_who_are_not_superusers(client):
    groups = index_groups(staff_client(client, role=PROGRAMME_MANAGER))
    shown = {model for _name, models in groups for model in models}
    assert "System" not in [name for name, _models in groups]
    # The manager may view earning rule uses, but they are an internal table: not in the navigation.
    assert "loyalty.earningruleuse" not in shown
    assert "loyalty.earningrule" in shown
    # Not on an app's own page either.
    app_page = client.get(reverse("admin:app_list", kwargs={"app_label": "loyalty"}))
    assert "earningruleuse" not in app_page.content.decode()
    assert client.get(reverse("admin:group", kwargs={"slug": "system"})).status_code == 404


def test_a_support_user_sees_only_the_models_they_may_view(client):
    groups = index_groups(staff_client(client, role=SUPPORT))
    shown = {model for _name, models in groups for model in models}
    permitted = {
        label.replace("view_", "")
        for label in ROLE_PERMISSIONS[SUPPORT]
        if ".view_" in label and label != "members.view_consentrecord"  # shown on the member's page, not listed
    }
    assert shown == permitted
    assert "Insight" not in [name for name, _models in groups]  # no dashboard permission
    assert [name for name, _models in groups] == ["Members", "Orders and points", "Rewards and vouchers", "Messages",
                                                   "Settings"]  # fmt: skip


def test_each_group_has_its_own_page_with_its_models(client):
    staff_client(client, superuser=True)
    for group in ADMIN_GROUPS:
        response = client.get(reverse("admin:group", kwargs={"slug": group.slug}))
        assert response.status_code == 200
        assert [str(app["name"]) for app in response.context["app_list"]] == [str(group.name)]
        listed = [
            f"{m['model']._meta.app_label}.{m['model']._meta.model_name}"
            for m in response.context["app_list"][0]["models"]
        ]
        assert listed == [key for key in group.models if key in listed] and listed
    assert client.get(reverse("admin:group", kwargs={"slug": "nothing"})).status_code == 404


@pytest.mark.parametrize(
    ("url_name", "args", "group"),
    [
        ("admin:loyalty_order_changelist", (), "Orders and points"),
        ("admin:loyalty_tier_add", (), "Settings"),
        ("admin:members_member_changelist", (), "Members"),
        ("admin:loyalty_outboxevent_changelist", (), "System"),
    ],
)
def test_breadcrumbs_lead_back_to_the_group_a_page_is_in(client, url_name, args, group):
    staff_client(client, superuser=True)

    page = client.get(reverse(url_name, args=args)).content.decode()

    crumbs = page.split('<div class="breadcrumbs">', 1)[1].split("</div>", 1)[0]
    assert f">{group}</a>" in crumbs
    assert "/admin/group/" in crumbs
    assert ">Loyalty</a>" not in crumbs and ">Members</a> &rsaquo; Members" not in crumbs


def test_a_members_page_breadcrumbs_name_its_group(client):
    member = MemberFactory()
    staff_client(client, superuser=True)

    page = client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()
    crumbs = page.split('<div class="breadcrumbs">', 1)[1].split("</div>", 1)[0]

    assert 'href="/admin/group/members/"' in crumbs
