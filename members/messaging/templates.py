"""The texts of messages: staff-edited templates per kind, channel and language, their defaults, and rendering."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import Context, Template, TemplateSyntaxError
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from config.snapshots import Snapshot
from members.message_kinds import message_kind, message_kinds
from members.messaging.texts import GREETING
from members.models import MessageTemplate

# What every kind's template may use, filled in when a message is sent; and the admin preview's member.
COMMON_VARIABLES = ("first_name", "club", "portal_url")
SAMPLE_MEMBER: dict[str, Any] = {"first_name": "Kari"}


@dataclass(frozen=True, slots=True)
class InMemberLanguage:
    """A text staff wrote per language (a tier's name, a reward's how-to), to be read in the member's language.

    ``messages_queue`` reads it (``context_resolve``) in each member's language when it queues the message, so the
    message stores the text itself, as the member reads it (django-modeltranslation reads the active language's
    field): cheap (no template is rendered), and what the member gets says what the tier or reward was called when
    the event happened, even if staff rename or delete it before the message goes.
    """

    instance: object
    attribute: str
    kind: type = str

    def resolve(self) -> Any:
        """The text in the active language."""
        return self.kind(getattr(self.instance, self.attribute))

    def __str__(self) -> str:
        return str(self.resolve())


def in_member_language(instance: object, attribute: str, kind: type = str) -> InMemberLanguage:
    """A text staff wrote per language (a tier's name, a reward's how-to), read in the member's language when
    the message is queued (``InMemberLanguage``); ``kind``: what it is (``list`` for a tier's benefits)."""
    return InMemberLanguage(instance, attribute, kind)


def _resolved(value: Any) -> Any:
    if isinstance(value, InMemberLanguage):
        return value.resolve()
    if isinstance(value, Promise):  # a lazy translation (gettext_lazy)
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_resolved(each) for each in value]
    return value


def context_resolve(context: Mapping[str, Any]) -> dict[str, Any]:
    """``context`` with its texts per language read in the active language: what a message stores to be rendered
    when it is sent (``members.message_context`` keeps the rest, dates too, through JSON)."""
    return {name: _resolved(value) for name, value in context.items()}


def default_templates() -> list[dict[str, str]]:
    """One dict of ``MessageTemplate`` fields per registered kind, channel and language it has texts in."""
    rows = []
    for language, _name in settings.LANGUAGES:
        for registered in message_kinds():
            if language not in registered.defaults:
                continue
            subject, email_text, sms_text = registered.defaults[language]
            email_body = f"{GREETING[language]}\n\n{email_text}"
            rows.append(
                {"kind": registered.kind, "channel": "email", "language": language, "subject": subject,
                 "body": email_body}
            )  # fmt: skip
            rows.append(
                {"kind": registered.kind, "channel": "sms", "language": language, "subject": "", "body": sms_text}
            )
    return rows


def message_templates_install(*, reset: bool = False) -> int:
    """Create the default template for every kind, channel and language that has none (``reset``: overwrite)."""
    count = 0
    for row in default_templates():
        keys = {name: row[name] for name in ("kind", "channel", "language")}
        texts = {"subject": row["subject"], "body": row["body"]}
        if reset:
            MessageTemplate.objects.update_or_create(**keys, defaults=texts)
            count += 1
        else:
            count += MessageTemplate.objects.get_or_create(**keys, defaults=texts)[1]
    return count


def template_check(text: str) -> None:
    """Raise ``TemplateSyntaxError`` if ``text`` is not a valid template (the admin shows the message)."""
    Template(text)


def template_variables(kind: str) -> list[str]:
    """The variables a template of ``kind`` may use (shown in the admin)."""
    registered = message_kind(kind)
    return [*COMMON_VARIABLES, *(registered.variables if registered else ())]


def _templates_load() -> dict[str, dict[tuple[str, str], MessageTemplate]]:
    by_kind: dict[str, dict[tuple[str, str], MessageTemplate]] = {}
    for template in MessageTemplate.objects.filter(is_active=True):
        by_kind.setdefault(template.kind, {})[(template.channel, template.language)] = template
    return by_kind


# The active templates by kind, then (channel, language): every order's message reads them; kept per process
# (config/snapshots.py), so staff's edits reach messages queued by other processes within seconds.
active_templates = Snapshot(_templates_load, sources=[MessageTemplate])


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> Template:
    """Templates compiled once per text: a job renders one text for thousands of members."""
    return Template(text)


def message_render(*, subject: str, body: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render a template's subject and text in ``language`` (numbers and dates formatted for it)."""
    full = {
        "club": settings.KLUBB_CLUB_NAME,
        "portal_url": settings.KLUBB_PORTAL_URL,
        "first_name": "",
        **context,
    }
    with translation.override(language):
        rendered_subject = _compiled(subject).render(Context(full, autoescape=False)) if subject else ""
        rendered_body = _compiled(body).render(Context(full, autoescape=False))
    return re.sub(r"\s*\n\s*", " ", rendered_subject).strip(), rendered_body.strip()


def sample_context(kind: str) -> dict[str, Any]:
    """What the admin's preview fills in: every kind's samples (a template may use any variable), its own last."""
    context = dict(SAMPLE_MEMBER)
    for registered in message_kinds():
        context.update(registered.sample)
    own = message_kind(kind)
    if own is not None:
        context.update(own.sample)
    return context


def message_preview(*, template: MessageTemplate) -> tuple[str, str]:
    """The template rendered with sample values, as staff see it in the admin."""
    try:
        return message_render(
            subject=template.subject,
            body=template.body,
            language=template.language,
            context=sample_context(template.kind),
        )
    except TemplateSyntaxError as exc:
        return "", _("The template has an error: %(error)s") % {"error": exc}
