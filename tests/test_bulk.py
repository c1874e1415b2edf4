"""``config.bulk``: the COPY inserts of the bulk paths (PostgreSQL; ``bulk_create`` elsewhere)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from config.bulk import objects_insert, rows_insert
from members.models import Member, User

pytestmark = pytest.mark.django_db


def test_objects_get_their_ids_and_a_default_of_their_own():
    users = [User(email=f"p{n}@example.com", password="!") for n in range(3)]
    objects_insert(users)
    members = [Member(user=user, source=Member.Source.IMPORT) for user in users]
    objects_insert(members)
    assert all(member.pk and not member._state.adding for member in members)
    stored = Member.objects.select_related("user").in_bulk([m.pk for m in members])
    assert {m.public_id for m in stored.values()} == {m.public_id for m in members}
    assert len({m.public_id for m in members}) == 3  # uuid4 called per row, not once
    assert stored[members[0].pk].user.email == "p0@example.com"


def test_rows_get_the_model_defaults_for_what_they_leave_out():
    [user_id] = rows_insert(User, [{"email": "q@example.com", "password": "!"}])
    other_user = User.objects.create(email="r@example.com")
    [member_id, other_id] = rows_insert(Member, [{"user_id": user_id}, {"user_id": other_user.pk}])
    first, second = Member.objects.get(pk=member_id), Member.objects.get(pk=other_id)
    assert first.notify_email is True and first.source == Member.Source.PORTAL and first.public_id != second.public_id


def test_a_broken_constraint_is_an_integrity_error_and_inserts_nothing():
    User.objects.create(email="taken@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        objects_insert([User(email="new@example.com", password="!"), User(email="taken@example.com", password="!")])
    assert not User.objects.filter(email="new@example.com").exists()
