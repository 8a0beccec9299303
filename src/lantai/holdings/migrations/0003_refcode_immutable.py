"""A 档号, once assigned, never changes: the database refuses such an UPDATE too.

The services refuse it first with a clear message; the triggers stop any other route (raw
SQL, a bulk update, a future bug). Setting a code where there was none is allowed.
"""

from django.db import migrations

TABLES = ["holdings_item", "holdings_volume"]
MESSAGE = "reference code (档号) is immutable once assigned"

SQLITE_FORWARD = [
    f"CREATE TRIGGER {table}_refcode_immutable BEFORE UPDATE OF reference_code ON {table} "
    "FOR EACH ROW WHEN OLD.reference_code IS NOT NULL "
    "AND (NEW.reference_code IS NULL OR NEW.reference_code <> OLD.reference_code) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    for table in TABLES
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {table}_refcode_immutable;" for table in TABLES]

PG_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION lantai_refcode_immutable() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$ LANGUAGE plpgsql;
    """,
    *[
        f"CREATE TRIGGER {table}_refcode_immutable BEFORE UPDATE ON {table} FOR EACH ROW "
        "WHEN (OLD.reference_code IS NOT NULL "
        "AND NEW.reference_code IS DISTINCT FROM OLD.reference_code) "
        "EXECUTE FUNCTION lantai_refcode_immutable();"
        for table in TABLES
    ],
]
PG_BACKWARD = [
    *[f"DROP TRIGGER IF EXISTS {table}_refcode_immutable ON {table};" for table in TABLES],
    "DROP FUNCTION IF EXISTS lantai_refcode_immutable();",
]


def forward(apps, schema_editor):
    statements = PG_FORWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD
    for sql in statements:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    statements = PG_BACKWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("holdings", "0002_seed_codes")]
    operations = [migrations.RunPython(forward, backward)]
