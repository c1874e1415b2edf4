"""What a message says: its template rendered with the variables it was queued with, and the way out below it.

The worker that sends a message renders it (``message_compose``), just before it sends it, with the template
active then (staff's edits made after it was queued apply), and keeps the text on the row; so queueing, inside
the transaction of an order or a nightly job's batch, renders nothing. The message log, the member 360 and the
member's data export read ``message_text``: the text sent, or, for a message not sent yet, what it would say if it
went now (marked as such).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template import TemplateSyntaxError
from django.utils import translation
from django.utils.translation import gettext as _

from members.message_kinds import message_kind_is_marketing
from members.messaging.templates import active_templates, message_render
from members.messaging.unsubscribe import unsubscribe_url
from members.models import Member, Message, MessageChannel


class TemplateOff(Exception):
    """Staff switched off (or deleted) the template of the message's kind, channel and language."""


def message_footer(*, member: Member, kind: str, channel: str, url: str | None = None) -> str:
    """The way out below every message, in the member's language: the unsubscribe link (``url``, if the caller
    made it already) or "reply STOP"."""
    with translation.override(member.language):
        if channel == MessageChannel.SMS:
            return _("Reply STOP to stop SMS from %(club)s.") % {"club": settings.KLUBB_CLUB_NAME}
        url = url or unsubscribe_url(member=member, kind=kind)
        if message_kind_is_marketing(kind):
            return _("You get this because you said yes to offers by email. Unsubscribe: %(url)s") % {"url": url}
        return _("You get this because you are a member of %(club)s. Stop these emails: %(url)s") % {
            "club": settings.KLUBB_CLUB_NAME,
            "url": url,
        }


def message_compose(*, message: Message, member: Member, url: str | None = None) -> tuple[str, str]:
    """The subject and text of ``message`` (queued with its ``context``) for ``member``, in the language it was
    queued in, from the template active now, with the footer (``url``: its unsubscribe link, if made already).
    ``first_name`` is the member's name now (the caller's variables may give another).

    Raises ``TemplateOff`` when staff switched that template off after the message was queued (the sender cancels
    the message), and ``TemplateSyntaxError`` for a template that does not compile."""
    template = active_templates.get().get(message.kind, {}).get((message.channel, message.language))
    if template is None:
        raise TemplateOff(message.kind, message.channel, message.language)
    subject, body = message_render(
        subject=template.subject,
        body=template.body,
        language=message.language,
        context={"first_name": member.user.first_name, **(message.context or {})},
    )
    footer = message_footer(member=member, kind=message.kind, channel=message.channel, url=url)
    return subject[:200], f"{body}\n\n{footer}"


@dataclass(frozen=True)
class MessageText:
    """What a message says, for the people who read the log: ``sent_text`` is False for a message not sent yet,
    whose text is rendered now (with the template active now) and may differ when it goes."""

    subject: str
    body: str
    sent_text: bool


def message_text(*, message: Message) -> MessageText:
    """The subject and text of ``message``: as sent (or tried), or for one not sent yet, as it would be now.

    A message whose member's data was erased has neither; one whose template staff switched off says so."""
    if message.body or message.context is None or message.member is None:
        return MessageText(subject=message.subject, body=message.body, sent_text=True)
    try:
        subject, body = message_compose(message=message, member=message.member)
    except TemplateOff:
        return MessageText(subject="", body=_("Its template is switched off: it will not be sent."), sent_text=False)
    except TemplateSyntaxError as exc:
        return MessageText(subject="", body=_("The template has an error: %(error)s") % {"error": exc}, sent_text=False)
    return MessageText(subject=subject, body=body, sent_text=False)
