"""PostgreSQL: the session table carries its own autovacuum thresholds (migration 0005)."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_session_table_vacuums_after_one_percent_of_dead_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'accounts_session'")
        (options,) = cursor.fetchone()
    assert sorted(options) == [
        "autovacuum_analyze_scale_factor=0.02",
        "autovacuum_vacuum_scale_factor=0.01",
        "autovacuum_vacuum_threshold=1000",
    ]
