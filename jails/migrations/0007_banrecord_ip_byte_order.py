"""On PostgreSQL, the archive's ``ip`` column compares text byte by byte (COLLATE "C").

The history page's IP filters are range scans on the ``jails_ban_ip_time``
index (``ip >= '203.0.113.' AND ip < '203.0.113/'``), which only hold in
byte order. SQLite's default collation (BINARY) is byte order already; a
PostgreSQL database usually defaults to a language's order (en_US.UTF-8, ICU),
where punctuation is ignored at first and such ranges miss rows. Altering the
type rebuilds the index and the unique constraint in the new order.

Not a ``db_collation`` on the field: the name differs per engine ("C" against
"BINARY"), and the model serves both. A later AlterField of ``ip`` would reset
the collation on PostgreSQL; it must repeat this (bangui/tests/test_postgres.py
checks the order on every engine).
"""

from django.db import migrations

TABLE = "jails_banrecord"


def _alter(collation: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f'ALTER TABLE "{TABLE}" ALTER COLUMN "ip" TYPE varchar(64) COLLATE {collation}'
        )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("jails", "0006_audit_login_actions"),
    ]

    operations = [
        migrations.RunPython(_alter('"C"'), _alter('"default"')),
    ]
