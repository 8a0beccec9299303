"""What the portal shows 公众查阅: open holdings only, whoever looks.

The portal always scopes holdings as the public sees them: a citizen is scoped as himself (the
public branch of ``holdings.services.visible_items``), and a staff member who opens the portal
is scoped as an anonymous visitor, so the portal never shows more than a citizen would see.
Files are shown watermarked with the viewer and the time, only to a signed-in viewer, and only
access copies 利用件 (or, for an open electronic item without one, its master file 原件).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import has
from lantai.holdings import services as holdings
from lantai.holdings.models import Carrier, Category, Fonds, Item
from lantai.portal import watermark
from lantai.storage.models import Component, ComponentRole

logger = logging.getLogger(__name__)

PDF = "application/pdf"
IMAGES = {"image/png", "image/jpeg", "image/tiff", "image/gif", "image/webp", "image/bmp"}
#: Longest side of an image shown on screen: enough to read a scan, light on a phone.
VIEW_MAX_SIDE = 2000


class FileTooLarge(Exception):
    """The file is too large to watermark on the fly; ask for a copy instead."""


def public_user(user):
    """The identity holdings are scoped by on the portal (see module docstring)."""
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    if signed_in and not has(user, holdings.VIEW):
        return user
    return AnonymousUser()


def open_items(user) -> QuerySet[Item]:
    return holdings.visible_items(public_user(user))


# --- home and browse -------------------------------------------------------------------------


def collection_counts() -> dict[str, int]:
    """开放档案 counts for the home page: always as the anonymous public sees them."""
    anonymous = AnonymousUser()
    counts = holdings.holdings_count(
        holdings.visible_items(anonymous), holdings.visible_volumes(anonymous)
    )
    counts["fonds"] = holdings.visible_fonds(anonymous).count()
    counts["items"] = counts["items_standalone"] + counts["items_in_volumes"]
    return counts


def browse_level(user, fonds_id: int | None = None, category_id: int | None = None):
    """One level of 全宗 → 门类 → 年度 with open counts; None if the path shows nothing."""
    viewer = public_user(user)
    fonds = category = None
    if fonds_id is not None:
        fonds = holdings.visible_fonds(viewer).filter(pk=fonds_id).first()
        if fonds is None:
            return None
    if category_id is not None:
        category = Category.objects.filter(pk=category_id).first()
        if category is None:
            return None
    rows = holdings.browse_counts(viewer, fonds=fonds, category=category)
    if (fonds is not None or category is not None) and not rows:
        return None
    return {"fonds": fonds, "category": category, "rows": rows}


def browse_items(user, fonds_id: int, category_id: int, year: int, page: Any = 1):
    """Open items of one fonds, category and year, paged in 档号 order."""
    items = (
        open_items(user)
        .filter(fonds_id=fonds_id, category_id=category_id, year=year)
        .select_related("fonds", "category")
        .order_by("item_no", "pk")
    )
    return Paginator(items, settings.LANTAI_PAGE_SIZE).get_page(page)


def fonds_and_category(fonds_id: int, category_id: int) -> tuple[Fonds | None, Category | None]:
    return Fonds.objects.filter(pk=fonds_id).first(), Category.objects.filter(
        pk=category_id
    ).first()


# --- search --------------------------------------------------------------------------------

#: Sorts the portal offers, as the search service names them.
SORTS = ("relevance", "-date", "date")
#: Facets shown to the public (openness is always 开放 there; units are internal detail).
PUBLIC_FACETS = ("fonds", "category", "year", "retention")
PER_PAGE = 20


@dataclass
class Hit:
    item_id: int
    reference_code: str
    title: str
    snippet_html: str
    date: Any
    year: int
    fonds_code: str
    category_code: str
    score: float = 0.0


@dataclass
class Results:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[Any, str, int]]]
    page: int = 1
    per_page: int = PER_PAGE
    total_exact: bool = True


class QueryError(ValueError):
    """A query or filter the search cannot run; the message is for the user (Chinese)."""


def search(user, query: str, *, filters: dict[str, Any], sort: str, page: int) -> Any:
    """Full-text search 检索 of open items through the search app's service (total, hits,
    facets); a plain catalog search while that app is not installed. Raises QueryError."""
    viewer = public_user(user)
    filters = {k: v for k, v in filters.items() if k in PUBLIC_FACETS and v not in (None, "")}
    try:
        from lantai.search import services as full_text
    except ImportError:
        return _catalog_search(viewer, query, filters, sort, page)
    try:
        result = full_text.search(
            viewer, query, filters=filters, sort=sort, page=page, per_page=PER_PAGE
        )
    except full_text.SearchQueryError as exc:
        raise QueryError(str(exc)) from exc
    result.facets = {k: v for k, v in result.facets.items() if k in PUBLIC_FACETS}
    return result


def _catalog_search(viewer, query: str, filters: dict[str, Any], sort: str, page: int) -> Results:
    from django.db.models import Count, Q
    from django.utils.html import escape

    items = holdings.visible_items(viewer)
    for word in query.split():
        items = items.filter(
            Q(title__icontains=word)
            | Q(reference_code__icontains=word)
            | Q(keywords__icontains=word)
            | Q(responsible__icontains=word)
        )
    facets: dict[str, list[tuple[Any, str, int]]] = {}
    for name, key, label in (
        ("fonds", "fonds__code", "fonds__name"),
        ("category", "category__code", "category__name"),
        ("retention", "retention", "retention"),
        ("year", "year", "year"),
    ):
        rows = items.order_by().values(key, label).annotate(n=Count("pk")).order_by("-n")[:20]
        facets[name] = [(row[key], str(row[label]), row["n"]) for row in rows]
    if filters.get("fonds"):
        items = items.filter(fonds__code=filters["fonds"])
    if filters.get("category"):
        items = items.filter(category__code=filters["category"])
    if filters.get("year"):
        items = items.filter(year=filters["year"])
    if filters.get("retention"):
        items = items.filter(retention=filters["retention"])
    order = {"date": ("date", "pk"), "-date": ("-date", "-pk")}.get(sort, ("-year", "pk"))
    page_size = PER_PAGE
    total = items.count()
    start = max(0, (page - 1) * page_size)
    hits = [
        Hit(
            item_id=item.pk,
            reference_code=item.reference_code or "",
            title=item.title,
            snippet_html=escape(item.keywords or item.responsible or ""),
            date=item.date,
            year=item.year,
            fonds_code=item.fonds.code,
            category_code=item.category.code,
        )
        for item in items.select_related("fonds", "category").order_by(*order)[
            start : start + page_size
        ]
    ]
    return Results(total=total, hits=hits, facets=facets, page=page, per_page=page_size)


# --- item and files --------------------------------------------------------------------------


def get_open_item(user, pk) -> Item:
    """The item if the public may see it, else Item.DoesNotExist (nothing revealed)."""
    return holdings.get_item(public_user(user), pk)


def viewable_components(item: Item) -> list[Component]:
    """Files of an open item the public may view: its access copies 利用件; an open
    electronic item without any shows its master 原件 instead. Paper masters are scans kept
    for preservation, not for the public, until an access copy is made."""
    components = list(
        Component.objects.filter(item=item).select_related("object").order_by("role", "sequence")
    )
    access = [c for c in components if c.role == ComponentRole.ACCESS]
    if access:
        chosen = access
    elif item.carrier == Carrier.ELECTRONIC:
        chosen = [c for c in components if c.role == ComponentRole.MASTER]
    else:
        chosen = []
    return [c for c in chosen if kind_of(c) is not None]


def kind_of(component: Component) -> str | None:
    """ "pdf", "image" or None (a format the portal cannot watermark, so does not show)."""
    mime = (component.mime or "").lower()
    if mime == PDF:
        return "pdf"
    if mime in IMAGES:
        return "image"
    return None


@dataclass
class Rendered:
    content: bytes
    mime: str
    filename: str
    extra: dict[str, Any] = field(default_factory=dict)


def render_component(user, item_pk, component_pk) -> Rendered:
    """The component's bytes watermarked for ``user`` (a signed-in viewer), audited.

    Raises Item.DoesNotExist / Component.DoesNotExist when the item is not open or the file
    is not one the public may view, PermissionDenied when nobody is signed in.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("查看档案原文需要先实名注册并登录。"))
    item = get_open_item(user, item_pk)
    component = next((c for c in viewable_components(item) if str(c.pk) == str(component_pk)), None)
    if component is None:
        raise Component.DoesNotExist
    limit = int(getattr(settings, "LANTAI_PORTAL_VIEW_MAX_BYTES", 200 * 1024 * 1024))
    if component.object.size > limit:
        raise FileTooLarge
    from lantai.storage.services import open_object

    with open_object(component.object) as fh:
        data = fh.read()
    text = watermark.watermark_text(user)
    if kind_of(component) == "pdf":
        content, mime = watermark.watermark_pdf(data, text), PDF
    else:
        content = watermark.watermark_image(data, text, max_side=VIEW_MAX_SIDE)
        mime = watermark.image_output_mime(content)
    with transaction.atomic():
        record(
            AuditAction.VIEW,
            actor=user,
            obj=item,
            detail={"event": "portal_view_file", "component": component.pk, "watermark": text},
        )
    stem = component.filename.rsplit(".", 1)[0]
    suffix = ".pdf" if mime == PDF else (".jpg" if mime == "image/jpeg" else ".png")
    return Rendered(content=content, mime=mime, filename=stem + suffix)


def item_fields(item: Item) -> list[tuple[str, Any]]:
    """Catalog fields 著录项 shown to the public, in DA/T order; empty ones left out."""
    rows = [
        (_("档号"), item.reference_code),
        (_("题名"), item.title),
        (_("责任者"), item.responsible),
        (_("文号"), item.doc_number),
        (_("形成日期"), item.date),
        (_("年度"), item.year),
        (_("全宗"), f"{item.fonds.code} {item.fonds.name}"),
        (_("门类"), item.category.name),
        (_("保管期限"), item.get_retention_display()),
        (_("载体"), item.get_carrier_display()),
        (_("页数"), item.pages),
        (_("主题词"), item.keywords),
    ]
    return [(label, value) for label, value in rows if value not in (None, "")]
