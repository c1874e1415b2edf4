"""One canonical form of an email address: what decides whether two addresses are one mailbox.

Mail systems deliver many spellings of an address to one mailbox: ``MEMA@Example.com``, fullwidth
``\\uff4d\\uff45\\uff4d\\uff41@example.com``, ``mema@ex\\u00adample.com`` with an invisible soft hyphen, a decomposed or
``xn--`` spelling of an international domain. Klubb stores every address in its canonical form, so that one
mailbox is one membership: uniqueness, sign-in lookups, order matching and the referral self-checks all
compare canonical forms.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import idna

# Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt): characters with no visible
# form (soft hyphen, zero-width space and joiners, bidi marks, variation selectors, tags), which renderers
# and mail systems drop.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def email_canonical(address: str) -> str:
    """The canonical form of ``address``: Unicode NFKC, default-ignorable characters removed, lower case, and
    the domain in its IDNA (UTS #46) form, written in Unicode (``blåbær.no``, never ``xn--…``).

    Not a validator: an address that is not one comes back tidied but otherwise as it was, for the form or
    serializer to refuse.
    """
    text = _DEFAULT_IGNORABLE.sub("", unicodedata.normalize("NFKC", address)).strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.lower()
    return f"{local.lower()}@{_domain_canonical(domain)}"


@lru_cache(maxsize=4096)  # a club's addresses share few domains, and IDNA is the slow part
def _domain_canonical(domain: str) -> str:
    try:
        return idna.decode(idna.encode(domain, uts46=True))
    except (idna.IDNAError, UnicodeError):
        return domain.lower()
