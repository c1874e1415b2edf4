"""Points for actions: sign-up, a completed profile and events shops report through ``POST /api/v1/events/``,
each once (idempotent) and within its own limits."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty.models import ActionAward, ActionKind, EntryKind, LedgerEntry, PointsAccount, PointsAction
from loyalty.shops import shop_member_enrol
from members.models import Interest
from members.services import member_join, member_profile_update
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


@pytest.fixture
def review(db) -> PointsAction:
    return PointsAction.objects.create(
        name="Product review", kind=ActionKind.EVENT, event_type="product_review", points=50, limit_per_member=2
    )


def event(key: str = "review-1", **extra) -> dict:
    return {
        "type": "product_review",
        "idempotency_key": key,
        "member": {"email": "kari@example.com"},
        "occurred_at": "2026-11-20T12:00:00+01:00",
        "data": {"sku": "SHOE-1", "rating": 5},
        **extra,
    }


def test_sign_up_gives_the_signup_points_once(tiers, programme, shop):
    PointsAction.objects.create(name="Welcome", kind=ActionKind.SIGNUP, points=100)
    member = member_join(user=UserFactory(email="new@example.com"))
    member_join(user=member.user)  # idempotent: an existing membership is returned as is
    assert balance(member) == 100
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.reason, entry.detail["action"]) == (EntryKind.BONUS, "Welcome", "signup")
    enrolled, _created = shop_member_enrol(shop=shop, email="shopper@example.com")
    assert balance(enrolled) == 100


def test_sign_up_gives_nothing_when_the_action_is_switched_off(tiers, programme):
    PointsAction.objects.create(name="Welcome", kind=ActionKind.SIGNUP, points=100, is_active=False)
    member = member_join(user=UserFactory(email="new@example.com"))
    assert balance(member) == 0
    assert not ActionAward.objects.exists()


def test_completed_profile_gives_points_once_and_only_when_complete(tiers, programme):
    PointsAction.objects.create(name="Complete profile", kind=ActionKind.PROFILE_COMPLETED, points=75)
    member = MemberFactory(user__email="kari@example.com")
    running = Interest.objects.create(name="Running", slug="running")

    def save(**fields):
        values = {
            "first_name": "Kari", "last_name": "Nordmann", "phone": "", "birthday": None, "language": "nb",
            "interests": [running], **fields,
        }  # fmt: skip
        member_profile_update(member=member, **values)

    save()
    assert balance(member) == 0  # no phone or birthday yet
    save(phone="+4791234567", birthday=dt.date(1990, 5, 17))
    save(phone="+4791234567", birthday=dt.date(1990, 5, 18))
    assert balance(member) == 75
    assert ActionAward.objects.filter(member=member).count() == 1


def test_shop_event_gives_the_actions_points(api, member, review, tiers, programme):
    response = api.post(EVENTS, event(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "event_id": "review-1",
        "type": "product_review",
        "member_id": str(member.public_id),
        "points_awarded": 50,
        "limited": False,
        "balance": 50,
    }
    entry = LedgerEntry.objects.get(member=member)
    assert entry.detail == {"action": "event", "event_type": "product_review", "key": "review-1"}


def test_replayed_event_returns_the_first_result_and_counts_once(api, member, review, tiers, programme):
    first = api.post(EVENTS, event(), format="json")
    again = api.post(EVENTS, event(), format="json")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert balance(member) == 50


def test_same_key_with_other_data_is_an_idempotency_conflict(api, member, review, tiers, programme):
    api.post(EVENTS, event(), format="json")
    response = api.post(EVENTS, event(data={"sku": "OTHER"}), format="json")
    assert response.status_code == 409
    assert response.json() == {
        "code": "idempotency_conflict",
        "message": "Event review-1 was already reported with different data.",
        "field": "idempotency_key",
    }
    assert balance(member) == 50


def test_keys_are_per_shop(api, other_api, member, review, tiers, programme):
    assert api.post(EVENTS, event(), format="json").status_code == 201
    assert other_api.post(EVENTS, event(), format="json").status_code == 201
    assert balance(member) == 100


def test_unknown_or_switched_off_event_type_is_refused(api, member, review, tiers, programme):
    response = api.post(EVENTS, event(type="newsletter_signup"), format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_event_type"
    assert response.json()["field"] == "type"
    review.is_active = False
    review.save()
    assert api.post(EVENTS, event(), format="json").json()["code"] == "unknown_event_type"


def test_unknown_member_is_not_enrolled_by_an_event(api, review, tiers, programme):
    response = api.post(EVENTS, event(member={"email": "stranger@example.com"}), format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "member_not_enrollable"


def test_event_over_the_limit_is_recorded_with_no_points(api, member, review, tiers, programme):
    for n in range(2):
        assert api.post(EVENTS, event(f"review-{n}"), format="json").json()["points_awarded"] == 50
    third = api.post(EVENTS, event("review-3"), format="json")
    assert third.status_code == 201
    assert third.json()["points_awarded"] == 0
    assert third.json()["limited"] is True
    assert balance(member) == 100
    assert api.post(EVENTS, event("review-3"), format="json").json() == third.json()


def test_limit_window_counts_only_recent_events(api, member, review, tiers, programme, time_machine):
    review.limit_per_member, review.limit_days = 1, 30
    review.save()
    time_machine.move_to(dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert api.post(EVENTS, event("a", occurred_at=None), format="json").json()["points_awarded"] == 50
    assert api.post(EVENTS, event("b", occurred_at=None), format="json").json()["limited"] is True
    time_machine.move_to(dt.datetime(2026, 12, 2, tzinfo=dt.UTC))
    assert api.post(EVENTS, event("c", occurred_at=None), format="json").json()["points_awarded"] == 50
    assert balance(member) == 100


def test_event_needs_an_api_key(client, review):
    response = client.post(EVENTS, event(), content_type="application/json")
    assert response.status_code == 401


def test_event_with_missing_fields_is_a_bad_request(api, review):
    response = api.post(EVENTS, {"type": "product_review"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] in {"idempotency_key", "member"}


@pytest.mark.parametrize("field", ["type", "idempotency_key"])
def test_an_event_type_or_key_that_is_not_text_is_a_bad_request(api, member, review, field):
    # JSON 7 is no string, as the schema says: it is not read as "7"
    response = api.post(EVENTS, event(**{field: 7}), format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert not ActionAward.objects.exists()
