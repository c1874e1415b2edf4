"""The audit trail of staff changes: who changed what, when, with the values before and after.

``audit_record`` is the only writer. Admin pages record through ``AuditedAdminMixin`` (saves and deletes,
many-to-many fields included); services that act for staff (points adjustments, key revocations, consent
changes by staff) call ``audit_record`` themselves. Secrets are never copied into the trail.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.db import models

from members.models import AuditEntry

SECRET_WORDS = ("secret", "password", "key_hash")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def audit_snapshot(obj: models.Model) -> dict[str, Any]:
    """The object's stored fields as JSON values (related objects by id, many-to-many as sorted ids)."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if any(word in field.name for word in SECRET_WORDS):
            data[field.name] = "•••" if getattr(obj, field.attname) else ""
            continue
        data[field.name] = _plain(getattr(obj, field.attname))
    if obj.pk is not None:
        for field in obj._meta.many_to_many:
            data[field.name] = sorted(getattr(obj, field.name).values_list("pk", flat=True))
    return data


def audit_record(
    *,
    staff: Any,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEntry | None:
    """Append one entry. ``before``/``after`` keep only the fields that changed; nothing changed, nothing kept."""
    before, after = dict(before or {}), dict(after or {})
    if before and after:
        changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
        if not changed:
            return None
        before = {key: before.get(key) for key in sorted(changed)}
        after = {key: after.get(key) for key in sorted(changed)}
    return AuditEntry.objects.create(
        staff=staff if getattr(staff, "pk", None) else None,
        action=action,
        model=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
        note=note[:255],
    )
