"""Sending SMS: a small backend interface, like Django's email backends, chosen by ``SMS_BACKEND``.

- ``members.sms.ConsoleBackend`` (the default) writes each SMS to the log, for development.
- ``members.sms.FortySixElksBackend`` sends through 46elks (https://46elks.com), a Swedish provider used
  across the Nordics: ``POST {SMS_46ELKS_URL}/a1/sms`` with HTTP basic authentication (API username and
  password) and form fields ``from``, ``to`` and ``message``; it answers JSON with the message ``id``.

A backend returns the provider's id or raises ``SmsError``: ``retry=True`` for what may pass later
(network faults, 429, 5xx), ``retry=False`` for what never will (bad credentials, a refused number).
"""

from __future__ import annotations

import logging
from typing import Protocol

import requests
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


class SmsError(Exception):
    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str) -> str:
        """Send ``body`` to ``to`` (E.164); return the provider's message id."""
        ...


class ConsoleBackend:
    """Logs the SMS instead of sending it (the development default)."""

    def send(self, *, to: str, body: str) -> str:
        logger.info("SMS to %s from %s:\n%s", to, settings.SMS_SENDER, body)
        return ""


class FortySixElksBackend:
    """46elks' REST API. Credentials from ``SMS_46ELKS_USERNAME`` and ``SMS_46ELKS_PASSWORD``."""

    def __init__(self) -> None:
        self.url = settings.SMS_46ELKS_URL.rstrip("/") + "/a1/sms"
        self.auth = (settings.SMS_46ELKS_USERNAME, settings.SMS_46ELKS_PASSWORD)

    def send(self, *, to: str, body: str) -> str:
        if not all(self.auth):
            raise SmsError("46elks credentials are not configured (SMS_46ELKS_USERNAME/PASSWORD).", retry=False)
        try:
            response = requests.post(
                self.url,
                auth=self.auth,
                data={"from": settings.SMS_SENDER, "to": to, "message": body},
                timeout=TIMEOUT_SECONDS,
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
