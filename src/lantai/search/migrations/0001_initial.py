"""The search document table, and per database vendor the token index:

- SQLite: the FTS5 table ``search_fts`` (rowid = item id) over character-segmented text with
  the unicode61 tokenizer, and a trigger that drops an item's tokens with its document.
- PostgreSQL: a ``vector`` tsvector column on ``search_document`` (weights A title, B catalog
  fields, D full text) with a GIN index.
"""

import django.db.models.deletion
from django.db import migrations, models


SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, meta, body, "
    "tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE TRIGGER search_document_fts_delete AFTER DELETE ON search_searchdocument "
    "BEGIN DELETE FROM search_fts WHERE rowid = OLD.item_id; END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_document_fts_delete",
    "DROP TABLE IF EXISTS search_fts",
]
PG_FORWARD = [
    "ALTER TABLE search_searchdocument ADD COLUMN vector tsvector NOT NULL DEFAULT ''",
    "CREATE INDEX search_document_vector ON search_searchdocument USING gin (vector)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS search_document_vector",
    "ALTER TABLE search_searchdocument DROP COLUMN IF EXISTS vector",
]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, PG_FORWARD if vendor == "postgresql" else SQLITE_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, PG_BACKWARD if vendor == "postgresql" else SQLITE_BACKWARD)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('holdings', '0005_item_fonds_date'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchDocument',
            fields=[
                ('item', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='search_document', serialize=False, to='holdings.item', verbose_name='件')),
                ('text', models.TextField(blank=True, verbose_name='检索文本')),
                ('doc_number', models.CharField(blank=True, db_index=True, max_length=100, verbose_name='文号')),
                ('text_chars', models.PositiveIntegerField(default=0, verbose_name='全文字数')),
                ('indexed_at', models.DateTimeField(verbose_name='索引时间')),
            ],
            options={
                'verbose_name': '检索文档',
                'verbose_name_plural': '检索文档',
            },
        ),
        migrations.RunPython(forward, backward),
]
