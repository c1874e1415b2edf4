"""What ``members`` tells other apps without importing them (dependencies point one way, see CONVENTIONS.md).

Both are sent inside the transaction of the change, so a receiver's writes commit or roll back with it.
"""

from __future__ import annotations

from django.dispatch import Signal

# A new membership exists (portal sign-up or enrolment by a shop). Arguments: ``member``.
member_joined = Signal()
# A member saved their profile. Arguments: ``member``.
profile_saved = Signal()
