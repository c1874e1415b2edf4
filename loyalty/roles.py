"""The two ready-made staff roles, as Django groups whose permissions Klubb keeps in sync.

A data migration creates them; after every ``migrate`` (``post_migrate``) their permissions are set to exactly
these lists again, so a new model's permissions reach the roles and hand edits do not drift. Staff may make
further groups of their own in the admin.
"""

from __future__ import annotations

from typing import Any

SUPPORT = "Support"
PROGRAMME_MANAGER = "Programme manager"

_VIEW_CLUB = [
    "members.view_member",
    "members.view_interest",
    "members.view_consentrecord",
    "members.view_message",
    "loyalty.view_pointsaccount",
    "loyalty.view_ledgerentry",
    "loyalty.view_order",
    "loyalty.view_refund",
    "loyalty.view_returnreason",
    "loyalty.view_voucher",
    "loyalty.view_tier",
    "loyalty.view_tierchange",
    "loyalty.view_reward",
]


def _manage(app: str, *models: str) -> list[str]:
    return [f"{app}.{action}_{model}" for model in models for action in ("view", "add", "change", "delete")]


ROLE_PERMISSIONS: dict[str, list[str]] = {
    # View members, adjust points (up to the programme's support limit, with a reason), resend messages.
    SUPPORT: [*_VIEW_CLUB, "loyalty.add_ledgerentry", "members.change_message"],
    # Rules, tiers, rewards, campaigns, segments, shops and API keys; the dashboard and the audit trail.
    PROGRAMME_MANAGER: [
        *_VIEW_CLUB,
        *_manage("loyalty", "earningrule", "pointsaction", "tier", "reward", "winbackoffer", "segment", "shop"),
        *_manage("loyalty", "replenishmentrule"),
        "loyalty.view_replenishmentreminder",
        *_manage("loyalty", "returnreason"),
        "loyalty.view_segmentsend",
        "loyalty.add_segmentsend",
        "loyalty.view_apikey",
        "loyalty.add_apikey",
        "loyalty.change_apikey",  # revoke
        "loyalty.view_storefront",
        "loyalty.add_storefront",
        "loyalty.change_storefront",  # origins, looks; rotating its keys
        "loyalty.view_programme",
        "loyalty.change_programme",
        "loyalty.view_dashboard",
        "loyalty.view_balanceimport",
        "loyalty.add_balanceimport",  # import balances from another programme
        "loyalty.view_earningruleuse",
        "loyalty.view_actionaward",
        "loyalty.view_webhooksubscription",
        "members.view_auditentry",
        "members.view_messagetemplate",
    ],
}


def staff_groups_sync(*, group_model: Any, permission_model: Any) -> None:
    """Create the role groups and give each exactly its permissions (models passed in, for migrations)."""
    for name, labels in ROLE_PERMISSIONS.items():
        group, _created = group_model.objects.get_or_create(name=name)
        wanted = {tuple(label.split(".", 1)) for label in labels}
        permissions = [
            permission
            for permission in permission_model.objects.select_related("content_type").filter(
                codename__in={codename for _app, codename in wanted}
            )
            if (permission.content_type.app_label, permission.codename) in wanted
        ]
        group.permissions.set(permissions)
