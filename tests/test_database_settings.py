"""How Klubb talks to PostgreSQL (``config/settings/base.py``)."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_statements_are_prepared_but_every_execution_is_planned_for_its_own_values():
    """Prepared statements save PostgreSQL parsing an order's statements again; a generic plan kept for a statement
    was ruinous where a table grew within a run (an import's member lookups: 13 s of PostgreSQL's CPU became 212 s)."""
    connection.ensure_connection()
    assert connection.connection.prepare_threshold == 5
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_custom_plan"
