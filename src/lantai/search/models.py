"""全文检索 models: one search document 检索文档 per item (件).

The searchable tokens themselves live in a backend-specific structure made by this app's
migrations: on SQLite the FTS5 table ``search_fts`` (rowid = item id; columns title, meta,
body); on PostgreSQL the ``vector`` tsvector column of ``search_document`` with a GIN index.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchDocument(models.Model):
    """检索文档: what was indexed for an item, kept for snippets and exact 文号 lookup."""

    item = models.OneToOneField(
        "holdings.Item",
        verbose_name=_("件"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="search_document",
    )
    # The catalog fields and the extracted full text as written (not normalised), shown in
    # snippets with the matches marked.
    text = models.TextField(_("检索文本"), blank=True)
    # Normalised (简体, lower case) 文号, for the exact-match boost.
    doc_number = models.CharField(_("文号"), max_length=100, blank=True, db_index=True)
    text_chars = models.PositiveIntegerField(_("全文字数"), default=0)
    indexed_at = models.DateTimeField(_("索引时间"))

    class Meta:
        verbose_name = _("检索文档")
        verbose_name_plural = _("检索文档")

    def __str__(self) -> str:
        return str(self.item_id)


class IndexState(models.Model):
    """索引状态: facts about how the index was built, e.g. ``format`` = the format every
    entry is in (services.FORMAT) — set by a full rebuild, or by the migration on a database
    that held no items yet."""

    key = models.CharField(_("名称"), max_length=50, primary_key=True)
    value = models.CharField(_("值"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("索引状态")
        verbose_name_plural = _("索引状态")

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
