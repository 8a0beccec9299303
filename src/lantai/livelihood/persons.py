"""Person index 人员索引 over livelihood records 民生档案.

Which ``Item.extra`` keys hold a person's name, 身份证号 and birth year is configured per
category (``PersonFields``), else ``DEFAULT_ROLES`` below (the keys the demo and the common
registers use). Names are normalised (NFKC, no spaces, simplified with opencc t2s) so that
劉/刘 and full-width input match; ID numbers are kept only as the portal's HMAC.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

from django.db import transaction

from lantai.holdings.models import Category, Item
from lantai.livelihood.models import PersonFields, PersonRef

#: Candidate keys per role: the first key present in ``extra`` is used.
ONE_PERSON = [
    {
        "role": "本人",
        "name": ["姓名", "学生姓名", "患者姓名", "申请人", "当事人", "受访者"],
        "id": ["身份证号", "公民身份号码", "身份证号码"],
        "birth": ["出生年份", "出生日期"],
    }
]
DEFAULT_ROLES: dict[str, list[dict]] = {
    "HY": [
        {"role": "男方", "name": ["男方"], "id": ["男方身份证号"], "birth": ["男方出生年份"]},
        {"role": "女方", "name": ["女方"], "id": ["女方身份证号"], "birth": ["女方出生年份"]},
    ],
}
_SPACES = re.compile(r"\s+")
_YEAR = re.compile(r"(1[89]\d\d|20\d\d)")


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def normalise_name(raw) -> str:
    """姓名 as indexed and searched: NFKC, no spaces or middle dots, simplified."""
    text = unicodedata.normalize("NFKC", str(raw or ""))
    text = _SPACES.sub("", text).replace("·", "").replace("•", "")
    return _converter().convert(text)[:50]


def birth_year_of(value) -> int | None:
    if isinstance(value, int):
        return value if 1850 <= value <= 2100 else None
    match = _YEAR.search(str(value or ""))
    return int(match.group(1)) if match else None


def roles_for(category: Category) -> list[dict]:
    try:
        configured = category.person_fields.roles
    except PersonFields.DoesNotExist:
        configured = None
    if configured:
        return configured
    return DEFAULT_ROLES.get(category.code, ONE_PERSON)


def _first(extra: dict, keys: Iterable[str]):
    for key in keys or ():
        value = extra.get(key)
        if value not in (None, ""):
            return value
    return None


def _id_hash(raw) -> str | None:
    from lantai.portal.services import id_number_hash, normalise_id_number

    number = normalise_id_number(str(raw or ""))
    # Only something shaped like a 身份证号 is indexed: a typo'd fragment would never match.
    if len(number) != 18:
        return None
    return id_number_hash(number)


def refs_for(item: Item, roles: list[dict]) -> list[PersonRef]:
    """The index rows one item yields (nothing for an item without names)."""
    extra = item.extra if isinstance(item.extra, dict) else {}
    refs = []
    for spec in roles:
        name = normalise_name(_first(extra, spec.get("name", [])))
        if not name:
            continue
        id_number = _first(extra, spec.get("id", []))
        birth = _first(extra, spec.get("birth", []))
        if birth is None and id_number:
            birth = str(id_number)[6:10]
        refs.append(
            PersonRef(
                item_id=item.pk,
                role=str(spec.get("role", "本人"))[:20],
                name=name,
                id_hash=_id_hash(id_number) if id_number else None,
                birth_year=birth_year_of(birth),
            )
        )
    return refs


def livelihood_category_ids() -> set[int]:
    return set(Category.objects.filter(livelihood=True).values_list("pk", flat=True))


def index_item(item: Item) -> int:
    """Rebuild one item's rows (none when its category is not a livelihood one)."""
    category = Category.objects.filter(pk=item.category_id, livelihood=True).first()
    with transaction.atomic():
        PersonRef.objects.filter(item_id=item.pk).delete()
        if category is None:
            return 0
        refs = refs_for(item, roles_for(category))
        PersonRef.objects.bulk_create(refs)
    return len(refs)


def reindex(progress: Callable[[int, int], None] | None = None, chunk: int = 2000) -> int:
    """Rebuild the whole index (``lantai livelihood-reindex``); returns rows written.

    Each chunk of items is replaced in its own transaction, keyset by id, so a rebuild of
    a million items never holds one long transaction and a crash leaves a usable index.
    """
    categories = {c.pk: roles_for(c) for c in Category.objects.filter(livelihood=True)}
    items = Item.objects.filter(category_id__in=list(categories)).only("pk", "category_id", "extra")
    total = items.count()
    # Rows of items no longer in a livelihood category go first.
    PersonRef.objects.exclude(item__category_id__in=list(categories)).delete()
    done = written = 0
    after = 0
    while True:
        batch = list(items.filter(pk__gt=after).order_by("pk")[:chunk])
        if not batch:
            break
        refs = [ref for item in batch for ref in refs_for(item, categories[item.category_id])]
        with transaction.atomic():
            PersonRef.objects.filter(item_id__in=[i.pk for i in batch]).delete()
            PersonRef.objects.bulk_create(refs, batch_size=1000)
        written += len(refs)
        done += len(batch)
        after = batch[-1].pk
        if progress:
            progress(done, total)
    return written
