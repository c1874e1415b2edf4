"""Staff admin for people and memberships: ``people`` (users, interests, members), ``messages`` (the message
templates and the log), ``audit`` (the audit trail and the mixin that writes it).

``members`` knows nothing of the apps built on it (dependencies point one way, see CONVENTIONS.md). An app that
shows more on the member admin (columns, filters, a fieldset, inlines, its own pages under the member's URL)
describes it in a ``MemberAdminExtension`` and registers that with ``member_admin_extend`` when its admin module
is imported; ``MemberAdmin`` applies every registered extension, in registration order, on each request.
"""

from __future__ import annotations

from members.admin import messages  # noqa: F401  (registers the message templates' and the log's admins)
from members.admin.audit import AuditedAdminMixin
from members.admin.people import MemberAdmin, MemberAdminExtension, member_admin_extend

__all__ = ["AuditedAdminMixin", "MemberAdmin", "MemberAdminExtension", "member_admin_extend"]
