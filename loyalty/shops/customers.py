"""Finding the member an order or a shop request is about, and enrolling them when allowed."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from loyalty import hooks
from loyalty.errors import MemberNotCustomer, MemberNotEnrollable, PhoneInUse
from loyalty.events import MemberEnrolled, emit
from loyalty.ledger import account_lock, account_lock_by_email
from loyalty.models import PointsAccount, Shop, ShopCustomer, customer_of
from members import services as member_services
from members.emails import email_canonical
from members.models import Member
from members.selectors import member_by_email, member_by_phone


@dataclass(frozen=True)
class MemberRef:
    """How a shop names a member: by its own customer id, by email or by phone (E.164)."""

    email: str = ""
    phone: str = ""
    external_id: str = ""
    first_name: str = ""
    last_name: str = ""

    def identity(self) -> dict[str, str]:
        return {"email": email_canonical(self.email), "phone": self.phone, "external_id": self.external_id}


def member_find(*, shop: Shop, ref: MemberRef) -> Member | None:
    """The member ``ref`` names (shop customer id, then email, then phone), or ``None``; reads only."""
    member: Member | None = None
    if ref.external_id:
        link = (
            ShopCustomer.objects.select_related("member__user").filter(shop=shop, external_id=ref.external_id).first()
        )
        member = link.member if link else None
    if member is None and ref.email:
        member = member_by_email(email=ref.email)
    if member is None and ref.phone:
        member = member_by_phone(phone=ref.phone)
    return member


@dataclass(frozen=True)
class FoundAccount:
    """The member a reference names, and their points account as the earning preview needs it."""

    member_id: int
    has_account: bool
    tier_id: int | None


def member_account_find(*, shop: Shop, ref: MemberRef) -> FoundAccount | None:
    """The member ``ref`` names, as ``member_find`` finds them (shop customer id, then email, then phone), with
    their account's tier, in one query; ``None`` for nobody. A raw query: the earning preview asks on every
    product page, and building the ORM's queries cost it more than PostgreSQL answering them."""
    branches: list[str] = []
    params: list[object] = []
    if ref.external_id:
        branches.append(
            "SELECT c.member_id AS member_id, 0 AS rank FROM loyalty_shopcustomer c "
            "WHERE c.shop_id = %s AND c.external_id = %s"
        )
        params += [shop.pk, ref.external_id]
    if ref.email:
        branches.append(
            "SELECT m.id AS member_id, 1 AS rank FROM members_member m JOIN members_user u ON u.id = m.user_id "
            "WHERE u.email = %s"
        )
        params.append(email_canonical(ref.email))
    if ref.phone:
        branches.append("SELECT m.id AS member_id, 2 AS rank FROM members_member m WHERE m.phone = %s")
        params.append(ref.phone)
    if not branches:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.member_id, a.member_id IS NOT NULL, a.tier_id "
            f"FROM ({' UNION ALL '.join(branches)}) f LEFT JOIN loyalty_pointsaccount a ON a.member_id = f.member_id "
            "ORDER BY f.rank LIMIT 1",
            params,
        )
        row = cursor.fetchone()
    return FoundAccount(member_id=row[0], has_account=bool(row[1]), tier_id=row[2]) if row else None


def member_resolve(*, shop: Shop, ref: MemberRef, enrol: bool, source: str) -> tuple[Member, bool]:
    """Find the member ``ref`` names (shop customer id, then email, then phone).

    When none matches and ``enrol`` is set, enrol a new member: by email, or by phone alone (they claim the
    membership in the portal with a code by SMS). A shop customer id seen for the first time is linked to the
    member found. Returns ``(member, created)``.
    """
    member = member_find(shop=shop, ref=ref)
    created = False
    if member is None:
        if not (enrol and (ref.email or ref.phone)):
            raise MemberNotEnrollable()
        try:
            if ref.email:
                member, created = member_services.member_enrol(
                    email=ref.email, first_name=ref.first_name, last_name=ref.last_name, phone=ref.phone, source=source
                )
            else:
                member, created = member_services.member_enrol_by_phone(
                    phone=ref.phone, first_name=ref.first_name, last_name=ref.last_name, source=source
                )
        except member_services.PhoneInUse as exc:
            raise PhoneInUse() from exc
    if created and not ref.external_id:
        ShopCustomer.objects.create(shop=shop, member=member)  # a new member: no link to collide with
    elif created or ref.external_id:
        shop_customer_link(shop=shop, member=member, external_id=ref.external_id)
    if created:  # after the link: the shop's webhooks hear of its own customer
        emit(MemberEnrolled(member=member, shop=shop, source=source))
    return member, created


def member_account_lock(*, shop: Shop, ref: MemberRef, enrol: bool, source: str) -> tuple[Member, PointsAccount]:
    """``member_resolve``, then the member's points account locked (``account_lock``). Inside ``atomic``.

    The usual order names a known member by email alone: then both come from one query. Anyone else (a shop
    customer id, a phone, a new member, a member without an account yet) goes through ``member_resolve``.
    """
    if ref.email and not ref.external_id:
        account = account_lock_by_email(email=email_canonical(ref.email))
        if account is not None:
            return account.member, account
    member, _created = member_resolve(shop=shop, ref=ref, enrol=enrol, source=source)
    return member, account_lock(member=member)


def shop_customer_link(*, shop: Shop, member: Member, external_id: str = "") -> None:
    """Make the member the shop's customer, with the shop's own customer id where it gave one. A member who
    has an id at the shop keeps it; one linked without an id gets this one."""
    link = ShopCustomer.objects.filter(shop=shop, member=member).first()
    if link is not None:
        if external_id and not link.external_id:
            try:
                with transaction.atomic():
                    ShopCustomer.objects.filter(pk=link.pk, external_id="").update(external_id=external_id)
            except IntegrityError:
                pass  # the id belongs to another member already: keep the first link
        return
    for candidate in dict.fromkeys([external_id, ""]):
        try:
            with transaction.atomic():
                ShopCustomer.objects.create(shop=shop, member=member, external_id=candidate)
            return
        except IntegrityError:
            # Linked concurrently (then the next try fails too), or the id belongs to another member already:
            # keep that link, and make the member a customer without an id.
            continue


def shop_customer_is(*, shop: Shop, member: Member) -> bool:
    """Whether the member is the shop's customer (``loyalty.models.customers`` has the rule)."""
    return Member.objects.filter(customer_of(shop), pk=member.pk).exists()


def shop_member_enrol(
    *,
    shop: Shop,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    language: str = "",
    birthday: object = None,
    external_id: str = "",
    source: str = Member.Source.API,
    referral_code: str = "",
    sees_all_members: bool = False,
) -> tuple[Member, bool]:
    """Enrol a member on a shop's behalf, who becomes the shop's customer; an existing member (by email) is
    returned unchanged.

    An existing member who is not the shop's customer is refused with ``MemberNotCustomer`` and nothing is
    written, unless the shop ``sees_all_members`` (its key has ``members:all``): enrolling an address must not be
    a way to read a stranger's personal data. A ``referral_code`` is handed to the hooks (``referrals``), which
    may refuse it with a ``LoyaltyError``: then nothing is written.
    """
    with transaction.atomic():
        try:
            member, created = member_services.member_enrol(
                email=email,
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                language=language,
                birthday=birthday,  # type: ignore[arg-type]
                source=source,
            )
        except member_services.PhoneInUse as exc:
            raise PhoneInUse() from exc
        seen = created or sees_all_members or shop_customer_is(shop=shop, member=member)
        if seen:
            shop_customer_link(shop=shop, member=member, external_id=external_id)
        if created:
            emit(MemberEnrolled(member=member, shop=shop, source=source))
        hooks.member_enrolled(member=member, created=created, shop=shop, extra={"referral_code": referral_code})
        if not seen:  # after the hooks: a refused referral code says more precisely why
            raise MemberNotCustomer()
    return member, created
