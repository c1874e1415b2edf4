"""Rows that every order reads and staff seldom change, kept in each process for a few seconds.

Every API request needs the active API keys and their shops, and every order the programme, its tiers, the
earning rules, the message templates and the webhook subscriptions. Reading them each time cost more than
the order's own writes (six ORM queries of about a millisecond of Python each), so each process keeps what
a ``Snapshot``'s loader returned for ``SNAPSHOT_SECONDS``:

- a save or delete of one of its models (or a change to their many-to-many fields) in this process clears
  it at once, and again when that transaction commits, so the admin and the tests see their own changes;
- the other processes (the other API workers, the Celery worker) see a change within ``SNAPSHOT_SECONDS``;
- writes that send no signals (``QuerySet.update``, ``bulk_create``) must call ``clear`` themselves;
- a change that is rolled back after its own transaction read the snapshot again stays in it for at most
  ``SNAPSHOT_SECONDS`` (Django has no hook on rollback).

What a snapshot returns is shared by every request and thread of the process: read it, never change it.

``config_generation()`` counts those changes in this process (every snapshot's clear, and the changes to the
models ``config_watch`` names, which no snapshot keeps): an answer kept in a cache under it is not read again
after a change to the settings it was made from, in the process that made the change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

SNAPSHOT_SECONDS = 10.0

_generation = 0  # changes seen by this process so far (``config_generation``)


def config_generation() -> int:
    """How many changes to the programme's settings this process has seen: it moves on every clear of a snapshot
    and every change to a model ``config_watch`` names (never back, so no old value comes round again)."""
    return _generation


def _generation_bump() -> None:
    global _generation
    _generation += 1


def _watched_changed(**kwargs: Any) -> None:
    _generation_bump()
    # As for a snapshot: an answer made from the old rows before the change commits is not read after it.
    transaction.on_commit(_generation_bump, using=kwargs.get("using"))


def _sources_connect(sources: Iterable[type[models.Model]], receiver: Callable[..., None]) -> None:
    for model in sources:
        post_save.connect(receiver, sender=model, weak=False)
        post_delete.connect(receiver, sender=model, weak=False)
        for field in model._meta.many_to_many:
            m2m_changed.connect(receiver, sender=field.remote_field.through, weak=False)


def config_watch(*, sources: Iterable[type[models.Model]]) -> None:
    """Count saves and deletes of ``sources`` (and changes to their many-to-many fields) in ``config_generation``:
    settings an answer is made from that no snapshot keeps (the rewards on offer, the referral programme)."""
    _sources_connect(sources, _watched_changed)


class Snapshot(Generic[T]):
    """What ``load()`` returned, kept for ``seconds`` or until one of ``sources`` changes."""

    _every: ClassVar[list[Snapshot[Any]]] = []

    def __init__(
        self, load: Callable[[], T], *, sources: Iterable[type[models.Model]], seconds: float = SNAPSHOT_SECONDS
    ) -> None:
        self._load = load
        self._seconds = seconds
        self._held: tuple[T, float] | None = None
        self._generation = 0  # moves on every clear, so a load that raced a change is not kept
        Snapshot._every.append(self)
        _sources_connect(sources, self._changed)

    def get(self) -> T:
        held, now = self._held, time.monotonic()
        if held is not None and now < held[1]:
            return held[0]
        generation = self._generation
        value = self._load()
        if generation == self._generation:
            self._held = (value, now + self._seconds)
        return value

    def clear(self) -> None:
        self._generation += 1
        self._held = None
        _generation_bump()

    def _changed(self, **kwargs: Any) -> None:
        self.clear()
        # Another request of this process may read the old rows again before the change commits.
        transaction.on_commit(self.clear, using=kwargs.get("using"))

    @classmethod
    def clear_all(cls) -> None:
        """Forget every snapshot (the tests, between tests: a rolled-back change sends no signal)."""
        for snapshot in cls._every:
            snapshot.clear()


def snapshot_find(snapshot: Snapshot[Mapping[K, V]], key: K, *, fetch: Callable[[], V | None]) -> V | None:
    """What ``snapshot`` keeps under ``key``; one it does not keep yet (made in another process seconds ago) comes
    from ``fetch()`` (one query by a unique key), so it works at once everywhere, and the snapshot is read again
    next time, so that this process keeps it too."""
    found = snapshot.get().get(key)
    if found is None:
        found = fetch()
        if found is not None:
            snapshot.clear()
    return found
