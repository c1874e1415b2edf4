"""Sign-in with django-allauth: every new account becomes a club member, whatever way it signed up.

Sign-up by email and "Log in with Vipps" (allauth's OpenID Connect provider) both end in
``members.services.member_join``. A member that a shop enrolled through the API has a user with no
password and no allauth ``EmailAddress``: they claim the account with a one-time code or a password
reset sent to that address, and keep their points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed, password_reset, user_logged_in
from allauth.mfa.models import Authenticator
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from config.proxies import client_ip
from members.emails import email_canonical
from members.models import Member, User
from members.services import member_join, member_welcome


@dataclass(frozen=True)
class ClubSite:
    """What allauth's emails call "the site": the club's name, not the host name."""

    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        """The address allauth's per-address rate limits count: the client's, read through the trusted proxies
        like every other use of it (``config.proxies``), not the proxy's, which every client shares."""
        ip = client_ip(request)
        if ip is None:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def format_email_subject(self, subject: str) -> str:
        return f"{settings.KLUBB_CLUB_NAME}: {subject}"

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        request = context.get("request") or getattr(self, "request", None)
        domain = request.get_host() if request is not None else ""
        super().send_mail(
            template_prefix, email, {"current_site": ClubSite(settings.KLUBB_CLUB_NAME, domain), **context}
        )

    def clean_email(self, email: str) -> str:
        """Sign-up, adding an address, a password reset: an address is taken in its canonical form, so a look-alike
        spelling of a member's address (capitals, fullwidth letters, invisible characters, an ``xn--`` domain)
        finds that member's account instead of making a second one."""
        return email_canonical(super().clean_email(email))

    def save_user(self, request: HttpRequest, user: User, form: BaseForm, commit: bool = True) -> User:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            # With mandatory verification the welcome goes once the address is confirmed (``welcome_on_confirmation``).
            confirm_first = account_settings.EMAIL_VERIFICATION == account_settings.EmailVerificationMethod.MANDATORY
            member_join(
                user=user,
                language=translation.get_language() or "",
                source=Member.Source.PORTAL,
                welcome=not confirm_first,
            )
        return user


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        """A Vipps login of an address a shop enrolled opens that membership, as Vipps has verified the address.

        allauth connects on its own only to addresses verified here; a shop-enrolled member has not
        verified theirs with us yet, and must not end up with a second, empty membership.
        """
        super().pre_social_login(request, sociallogin)
        verified = [email_canonical(address.email) for address in sociallogin.email_addresses if address.verified]
        user = sociallogin.user if sociallogin.is_existing else User.objects.filter(email__in=verified).first()
        if user is None or not user.is_active:
            return
        EmailAddress.objects.filter(user=user, email__in=verified).update(verified=True)
        if not sociallogin.is_existing:
            sociallogin.connect(request, user)

    def save_user(self, request: HttpRequest, sociallogin: Any, form: BaseForm | None = None) -> User:
        user = super().save_user(request, sociallogin, form)
        member_join(user=user, language=translation.get_language() or "", source=Member.Source.PORTAL)
        return user


def staff_has_two_factor(user: Any) -> bool:
    """Staff must have an authenticator app (TOTP) before the admin opens for them."""
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


@receiver(user_logged_in)
def remember_language_on_login(
    sender: Any, request: HttpRequest, response: HttpResponse | None = None, user: Any = None, **kwargs: Any
) -> None:
    """Show the portal in the language the member chose, on whichever device they log in."""
    member = Member.objects.filter(user=user).only("language").first()
    if member is None or not member.language:
        return
    translation.activate(member.language)
    if response is not None:
        remember_language(response, member.language)


@receiver(password_reset)
def password_reset_verifies_the_address(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """The reset link reached the member at this address: it is theirs (how a shop-enrolled member claims it)."""
    EmailAddress.objects.filter(user=user, email__iexact=user.email).update(verified=True)
    _welcome(user_id=user.pk)


@receiver(email_confirmed)
def welcome_on_confirmation(
    sender: Any, request: HttpRequest | None, email_address: EmailAddress, **kwargs: Any
) -> None:
    """A member who signed up in the portal is welcomed once they confirmed their address (only once: a member
    enrolled by a shop, welcomed when enrolled, or an address confirmed again, gets no second welcome)."""
    _welcome(user_id=email_address.user_id)


def _welcome(*, user_id: int) -> None:
    member = Member.objects.select_related("user").filter(user_id=user_id).first()
    if member is not None:
        member_welcome(member=member)


def remember_language(response: HttpResponse, language: str) -> None:
    """Set the cookie Django's LocaleMiddleware reads, as ``set_language`` does."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
    )
