"""Sending SMS: a small backend interface, like Django's email backends, chosen by ``SMS_BACKEND``.

- ``members.sms.ConsoleBackend`` (the default) writes each SMS to the log, for development.
- ``members.sms.FortySixElksBackend`` sends through 46elks (https://46elks.com), a Swedish provider used
  across the Nordics: ``POST {SMS_46ELKS_URL}/a1/sms`` with HTTP basic authentication (API username and
  password) and form fields ``from``, ``to`` and ``message``; it answers JSON with the message ``id``.

A backend returns the provider's id or raises ``SmsError``: ``retry=True`` for what may pass later
(network faults, 429, 5xx), ``retry=False`` for what never will (bad credentials, a refused number).

A message's every attempt carries the same ``idempotency_key`` (``members.messaging`` passes one made from the
message's id). A provider that deduplicates by such a key then sends a retried message once even when an
earlier attempt was accepted but its answer lost; the HTTP backends send it as an ``Idempotency-Key`` header.
46elks does not document deduplication by it: there, what keeps a message from going twice is that no other
worker may take it while its send is under way (the send's lease outlasts ``SMS_TIMEOUT``).
"""

from __future__ import annotations

import logging
from typing import Protocol

import requests
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, idempotency_key: str = "") -> str:
        """Send ``body`` to ``to`` (E.164); return the provider's message id. ``idempotency_key``: the same for
        every attempt at one message ("" for an SMS that is never retried, such as a sign-in code)."""
        ...


class ConsoleBackend:
    """Logs the SMS instead of sending it (the development default)."""

    def send(self, *, to: str, body: str, idempotency_key: str = "") -> str:
        logger.info("SMS to %s from %s:\n%s", to, settings.SMS_SENDER, body)
        return ""


class FortySixElksBackend:
    """46elks' REST API. Credentials from ``SMS_46ELKS_USERNAME`` and ``SMS_46ELKS_PASSWORD``."""

    def __init__(self) -> None:
        self.url = settings.SMS_46ELKS_URL.rstrip("/") + "/a1/sms"
        self.auth = (settings.SMS_46ELKS_USERNAME, settings.SMS_46ELKS_PASSWORD)

    def send(self, *, to: str, body: str, idempotency_key: str = "") -> str:
        if not all(self.auth):
            raise SmsError("46elks credentials are not configured (SMS_46ELKS_USERNAME/PASSWORD).", retry=False)
        try:
            response = requests.post(
                self.url,
                auth=self.auth,
                data={"from": settings.SMS_SENDER, "to": to, "message": body},
                headers={"Idempotency-Key": idempotency_key} if idempotency_key else {},
                timeout=settings.SMS_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise SmsError(f"46elks unreachable: {exc.__class__.__name__}", retry=True) from exc
        if response.status_code == 401:
            raise SmsError("46elks refused the credentials (401).", retry=False)
        if response.status_code == 429 or response.status_code >= 500:
            raise SmsError(f"46elks answered {response.status_code}.", retry=True)
        if response.status_code >= 400:
            # 46elks explains a refusal in plain text, e.g. "Invalid to number".
            raise SmsError(f"46elks refused the message ({response.status_code}): {response.text[:200]}", retry=False)
        try:
            payload = response.json()
        except ValueError as exc:
            raise SmsError("46elks answered without JSON.", retry=True) from exc
        if payload.get("status") == "failed":
            raise SmsError("46elks reports the message failed.", retry=False)
        return str(payload.get("id", ""))


def sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
