"""PostgreSQL: the session table gets its own autovacuum thresholds (other databases: nothing to do).

Every activity write moves the indexed expire_date, so no update of a session row is HOT:
each leaves a dead row and dead index entries. PostgreSQL's default waits until 20% of
the table is dead; these settings vacuum after 1% (plus 1,000 rows). `make bench`
measures both (bench/churn.py, "Session-table churn" in bench/results.md).
"""

from django.db import migrations

TABLE = "accounts_session"
SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_vacuum_threshold": "1000",
    "autovacuum_analyze_scale_factor": "0.02",
}


def set_thresholds(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        options = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
        schema_editor.execute(f"ALTER TABLE {TABLE} SET ({options})")


def reset_thresholds(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_session_key_hash")]

    operations = [migrations.RunPython(set_thresholds, reset_thresholds, elidable=False)]
