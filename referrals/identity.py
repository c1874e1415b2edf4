"""Who a friend really is: the mailbox an address reaches, for the referral self-checks and the friend's discount."""

from __future__ import annotations

import hashlib

from members.emails import email_canonical

# Providers that deliver "name+tag@" to "name@"; Gmail also ignores dots in the name.
_PLUS_TAG_DOMAINS = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com",
    "proton.me", "protonmail.com", "fastmail.com",
}  # fmt: skip
_DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}


def email_identity(email: str) -> str:
    """The mailbox an address really reaches: its canonical form (``email_canonical``), with Gmail dots and
    +tags ignored where the provider does."""
    local, _at, domain = email_canonical(email or "").rpartition("@")
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in _PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def mailbox_hash(email: str) -> str:
    """A SHA-256 of the mailbox (``email_identity``): enough to tell one mailbox again, without keeping the
    address (it outlives the member's erasure, as the rule "one friend's discount per mailbox" must)."""
    return hashlib.sha256(email_identity(email).encode()).hexdigest()
