"""Messages to members by email and SMS: who gets what, through which channel, when, and the log of it.

``members`` sends any kind of message another app registers (``members.message_kinds``:
``message_kind_register`` from the app's ``AppConfig.ready``) and knows only its own, the welcome.

How a message travels:

1. ``messages_queue`` is called inside the transaction of the event that causes it (an order, a tier
   change, a job's batch). It picks the channels the member allows and when each may go, and writes one
   ``Message`` row per channel with the member's language and the kind's variables (``context``: JSON that
   keeps dates and decimals, ``members.message_context``; texts staff wrote per language read in the
   member's). It renders nothing. The row's ``(kind, channel, key)`` is unique, so an event queued twice
   (a retried task, a job run again) is one message.
2. After commit, the task ``members.tasks`` registered (``messages_sender_register``) runs, and on the beat
   schedule every minute. It claims due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and a lease
   (``config.leases``), renewed at each send and longer than any send may take, under a claim token that
   fences out a worker whose lease another took over, so two workers never send one message; a worker that
   dies mid-send leaves the lease to run out and the next sweep sends it again (at least once: a crash
   between the provider's "ok" and our write can repeat one message, with the same ``Message-ID`` or SMS
   idempotency key). Just before its first send the worker renders it (``message_compose``): the
   staff-edited template active then, in the language it was queued in, and the unsubscribe line; the text
   is kept on the row (the log, the export and a retry read it). A template switched off since it was
   queued cancels it. ``message_text`` shows a message not sent yet as it would be sent now.
3. Failures the provider calls temporary are retried with backoff, up to ``MAX_ATTEMPTS``; others fail
   at once. Every outcome is in the admin's message log.

Who gets what:

- Marketing (kinds registered with ``marketing=True``: the win-back offer, messages to segments) goes only
  through channels the member consented to.
- Club notifications (everything else) follow the member's settings ``notify_email`` / ``notify_sms``.
- Every message carries a way out: an unsubscribe link in emails (also as ``List-Unsubscribe`` with
  one-click POST), and "reply STOP" in SMS (the provider's callback, ``sms_inbound``).
- No SMS between 21:00 and 09:00 in the member's time zone: it waits until 09:00 (``quiet_until``).

Modules: ``texts`` (the greeting and the welcome's texts), ``templates`` (staff-edited templates, their
defaults, rendering and preview), ``compose`` (one message's text and its way out), ``queue`` (queueing,
channels, quiet hours, asking a worker to send), ``send`` (claiming, rendering and sending), ``unsubscribe``
(the signed way out) and ``privacy`` (export and erasure).
"""

from __future__ import annotations

from members.message_kinds import (
    DefaultTexts,
    RegisteredKind,
    marketing_kinds,
    message_kind,
    message_kind_is_marketing,
    message_kind_register,
    message_kinds,
)
from members.messaging.compose import MessageText, TemplateOff, message_compose, message_footer, message_text
from members.messaging.privacy import messages_erase, messages_export
from members.messaging.queue import (
    QUIET_FROM,
    QUIET_UNTIL,
    SEND_SOON,
    SEND_SOON_KEY,
    Outgoing,
    channels_for,
    messages_queue,
    messages_retry,
    messages_sender_register,
    quiet_until,
    send_due_soon,
)
from members.messaging.send import (
    MAX_ATTEMPTS,
    SEND_BATCH,
    SEND_LEASE,
    Claim,
    message_send,
    messages_claim,
    messages_send_due,
)
from members.messaging.templates import (
    InMemberLanguage,
    context_resolve,
    default_templates,
    in_member_language,
    message_preview,
    message_render,
    message_templates_install,
    template_check,
    template_variables,
)
from members.messaging.texts import GREETING, WELCOME_TEXTS, MemberMessage
from members.messaging.unsubscribe import UNSUBSCRIBE_SALT, Unsubscription, unsubscribe_read, unsubscribe_url

__all__ = [
    "GREETING",
    "MAX_ATTEMPTS",
    "QUIET_FROM",
    "QUIET_UNTIL",
    "SEND_BATCH",
    "SEND_LEASE",
    "SEND_SOON",
    "SEND_SOON_KEY",
    "UNSUBSCRIBE_SALT",
    "WELCOME_TEXTS",
    "Claim",
    "DefaultTexts",
    "InMemberLanguage",
    "MemberMessage",
    "MessageText",
    "Outgoing",
    "RegisteredKind",
    "TemplateOff",
    "Unsubscription",
    "channels_for",
    "context_resolve",
    "default_templates",
    "in_member_language",
    "marketing_kinds",
    "message_compose",
    "message_footer",
    "message_kind",
    "message_kind_is_marketing",
    "message_kind_register",
    "message_kinds",
    "message_preview",
    "message_render",
    "message_send",
    "message_templates_install",
    "message_text",
    "messages_claim",
    "messages_erase",
    "messages_export",
    "messages_queue",
    "messages_retry",
    "messages_send_due",
    "messages_sender_register",
    "quiet_until",
    "send_due_soon",
    "template_check",
    "template_variables",
    "unsubscribe_read",
    "unsubscribe_url",
]
