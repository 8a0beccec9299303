"""Demo 演示数据 for livelihood records: plausible 居民身份证号 on the demo's livelihood items,
then the person index.

Records from 1985 on (the year resident ID cards were introduced) carry an ID number per
person; older ones keep name and birth year only, so the demo shows both the identity match
and the "possible match, apply for verification" path. Numbers are fictional but valid (GB
11643-1999: region, birth date, sequence with the sex digit, ISO 7064 MOD 11-2 check digit),
derived from name + birth year, so the same person gets the same number on every record.
"""

from __future__ import annotations

import hashlib
from datetime import date

from django.db import transaction

from lantai.holdings.models import Category, Item
from lantai.livelihood import persons

#: 兰台区 is fictional; its numbers use a real-format Henan (41) county-level code.
REGION = "411002"
ID_FROM_YEAR = 1985
CHUNK = 2000


def check_digit(first17: str) -> str:
    """校验码 (GB 11643-1999, ISO 7064 MOD 11-2)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(ch) * w for ch, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


def make_id_number(name: str, birth_year: int, sex: str = "", region: str = REGION) -> str:
    """A valid, deterministic 18-digit number for a fictional person."""
    seed = hashlib.sha256(f"{name}|{birth_year}|{sex}".encode()).digest()
    born = date(birth_year, 1 + seed[0] % 12, 1 + seed[1] % 28)
    seq = 1 + (seed[2] * 256 + seed[3]) % 499  # 001–499
    sex_digit = (seq * 2 + 1) % 10 if sex == "男" else (seq * 2) % 10 if sex == "女" else seq % 10
    body = f"{region}{born:%Y%m%d}{seq // 10:02d}{sex_digit}"
    return body + check_digit(body)


def _sex_for(role: dict, extra: dict) -> str:
    if role.get("role") == "男方":
        return "男"
    if role.get("role") == "女方":
        return "女"
    return str(extra.get("性别") or "")


def add_id_numbers(progress=None) -> int:
    """Give the demo's livelihood items (from ID_FROM_YEAR on) an ID number per person, in
    ``Item.extra`` under the role's first ``id`` key; returns items changed. Idempotent."""
    changed = 0
    categories = {c.pk: persons.roles_for(c) for c in Category.objects.filter(livelihood=True)}
    items = Item.objects.filter(category_id__in=list(categories), year__gte=ID_FROM_YEAR)
    after = 0
    while True:
        batch = list(
            items.filter(pk__gt=after).order_by("pk").only("pk", "category_id", "extra")[:CHUNK]
        )
        if not batch:
            break
        dirty = []
        for item in batch:
            extra = dict(item.extra) if isinstance(item.extra, dict) else {}
            touched = False
            for role in categories[item.category_id]:
                name = next((extra[k] for k in role.get("name", []) if extra.get(k)), None)
                id_keys = role.get("id", [])
                if not name or not id_keys or any(extra.get(k) for k in id_keys):
                    continue
                birth = next((extra[k] for k in role.get("birth", []) if extra.get(k)), None)
                year = persons.birth_year_of(birth)
                if year is None or year < 1900:
                    continue
                extra[id_keys[0]] = make_id_number(str(name), year, _sex_for(role, extra))
                touched = True
            if touched:
                item.extra = extra
                dirty.append(item)
        if dirty:
            with transaction.atomic():
                # bulk_update skips signals and updated_at: the catalog itself did not change.
                Item.objects.bulk_update(dirty, ["extra"], batch_size=500)
        changed += len(dirty)
        after = batch[-1].pk
        if progress:
            progress(len(batch))
    return changed


def seed_livelihood(progress=None) -> tuple[str, str, dict]:
    """The demo extras part: (status, message, counts) as ``holdings.demo.extras`` expects."""
    from lantai.livelihood.models import PersonRef

    changed = add_id_numbers(progress)
    nothing_to_index = not Item.objects.filter(category__livelihood=True).exists()
    if changed == 0 and (PersonRef.objects.exists() or nothing_to_index):
        return "already", "", {}
    rows = persons.reindex()
    return "done", "", {"补充身份证号（件）": changed, "人员索引（条）": rows}
