"""How a queued message's variables (``Message.context``) are stored: JSON that gives back what was put in.

A message is rendered by the worker that sends it, from the variables its kind's caller gave when it was queued, so
those must come back from the database as they went in: a date still a date (templates format it in the member's
language: "31. januar 2027"), a ``Decimal`` still a ``Decimal``. JSON has neither, so they are written as a small
tagged object (``{"$date": "2027-01-31"}``) and read back by ``ContextDecoder``; strings, numbers, booleans, lists
and dicts are plain JSON. Anything else (a model instance, a lazy text not resolved) is refused when the message
is queued, not found out when it is sent.

A module of its own, beside the ``messaging`` package rather than in it: ``members.models`` names these classes
on ``Message.context`` (and so do its migrations), and the package imports the models.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

_TAGS = {
    "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat,
    "$decimal": Decimal,
}


class ContextEncoder(json.JSONEncoder):
    """Dates, times and decimals as tagged objects; the rest as JSON has it."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime):  # before ``date``: a datetime is a date too
            return {"$datetime": o.isoformat()}
        if isinstance(o, dt.date):
            return {"$date": o.isoformat()}
        if isinstance(o, dt.time):
            return {"$time": o.isoformat()}
        if isinstance(o, Decimal):
            return {"$decimal": str(o)}
        return super().default(o)


def _tagged(value: dict[str, Any]) -> Any:
    if len(value) == 1:
        [(tag, text)] = value.items()
        if tag in _TAGS and isinstance(text, str):
            return _TAGS[tag](text)
    return value


class ContextDecoder(json.JSONDecoder):
    """Reads what ``ContextEncoder`` wrote: the tagged objects become dates, times and decimals again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("object_hook", _tagged)
        super().__init__(*args, **kwargs)
