"""The kinds of message the club sends, as the apps that send them register them.

``members.messaging`` sends any kind and knows only its own (the welcome, ``MemberMessage``). Every other app
registers its kinds from its ``AppConfig.ready`` with ``message_kind_register``: the label staff see, the
variables its templates may use (shown in the admin), sample values for the admin's preview, whether it is
marketing (sent only with consent) and its default texts per language. ``Message.kind`` and
``MessageTemplate.kind`` take their choices from here (``message_kind_choices``).

A module of its own, beside the ``messaging`` package rather than in it: ``members.models`` reads the choices
from it, and the package imports the models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise

KIND_MAX_LENGTH = 32  # Message.kind and MessageTemplate.kind

# language -> (email subject, email text after the greeting, SMS text), in Django's template language.
# The greeting ("Hi Kari!") and the unsubscribe line are added by ``members.messaging``.
DefaultTexts = Mapping[str, tuple[str, str, str]]


@dataclass(frozen=True, eq=False)
class RegisteredKind:
    """One kind of message, as registered."""

    kind: str
    label: str | Promise
    variables: tuple[str, ...] = ()
    sample: Mapping[str, Any] = field(default_factory=dict)
    marketing: bool = False
    defaults: DefaultTexts = field(default_factory=dict)

    def same_as(self, other: RegisteredKind) -> bool:
        return (self.kind, str(self.label), self.variables, dict(self.sample), self.marketing, dict(self.defaults)) == (
            other.kind, str(other.label), other.variables, dict(other.sample), other.marketing, dict(other.defaults)
        )  # fmt: skip


_kinds: dict[str, RegisteredKind] = {}


def message_kind_register(
    *,
    kind: str,
    label: str | Promise,
    variables: Sequence[str] = (),
    sample: Mapping[str, Any] | None = None,
    marketing: bool = False,
    defaults: DefaultTexts | None = None,
) -> RegisteredKind:
    """Make ``kind`` one the club sends.

    ``variables``: what its templates may use besides ``first_name``, ``club`` and ``portal_url``;
    ``sample``: a value for each, for the admin's preview; ``marketing``: sent only through channels the
    member consented to (else: as the member's notification settings say); ``defaults``: its texts per
    language, installed as editable templates (``message_templates_install``).
    Registering the same kind again with the same details is harmless; with other details it is an error.
    """
    kind = str(kind)
    if not kind or len(kind) > KIND_MAX_LENGTH:
        raise ImproperlyConfigured(f"A message kind is 1 to {KIND_MAX_LENGTH} characters: {kind!r}.")
    registered = RegisteredKind(
        kind=kind,
        label=label,
        variables=tuple(variables),
        sample=dict(sample or {}),
        marketing=marketing,
        defaults=dict(defaults or {}),
    )
    existing = _kinds.get(kind)
    if existing is not None:
        if not existing.same_as(registered):
            raise ImproperlyConfigured(f"The message kind {kind!r} is registered twice, differently.")
        return existing
    _kinds[kind] = registered
    return registered


def message_kinds() -> list[RegisteredKind]:
    """Every registered kind, in the order they were registered."""
    return list(_kinds.values())


def message_kind(kind: str) -> RegisteredKind | None:
    """The registered kind ``kind``, or ``None``."""
    return _kinds.get(str(kind))


def message_kind_choices() -> list[tuple[str, str | Promise]]:
    """The choices of ``Message.kind`` and ``MessageTemplate.kind``: every registered kind and its label."""
    return [(registered.kind, registered.label) for registered in _kinds.values()]


def message_kind_is_marketing(kind: str) -> bool:
    """Whether ``kind`` is marketing: sent only through channels the member consented to."""
    registered = _kinds.get(str(kind))
    return registered is not None and registered.marketing


def marketing_kinds() -> frozenset[str]:
    """The kinds that are marketing."""
    return frozenset(registered.kind for registered in _kinds.values() if registered.marketing)
