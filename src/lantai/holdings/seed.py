"""Seed data: the 档案门类 of DA/T 13-2022, the 专门档案 kinds and the default 档号 scheme.

These are data, not logic: an archive edits, adds or retires them afterwards.
"""

from __future__ import annotations

ITEM, VOLUME = "item", "volume"

# (code, name, arrangement, livelihood, parent code)
CATEGORIES = [
    ("WS", "文书档案", ITEM, False, None),
    ("KJ", "科技档案", VOLUME, False, None),  # arranged by project into volumes
    ("RS", "人事档案", VOLUME, False, None),  # one file (卷) per person
    ("KU", "会计档案", VOLUME, False, None),  # vouchers bound into volumes (册)
    ("ZY", "专业档案", ITEM, False, None),
    ("ZP", "照片档案", ITEM, False, None),
    ("LY", "录音档案", ITEM, False, None),
    ("LX", "录像档案", ITEM, False, None),
    ("SJ", "业务数据档案", ITEM, False, None),
    ("YJ", "公务电子邮件档案", ITEM, False, None),
    ("WY", "网页档案", ITEM, False, None),
    ("MT", "社交媒体档案", ITEM, False, None),
    ("SW", "实物档案", ITEM, False, None),
    # 专门档案 under ZY; the livelihood ones answer citizens' proof requests (民生档案).
    ("HY", "婚姻登记档案", ITEM, True, "ZY"),
    ("ZG", "招工档案", VOLUME, True, "ZY"),
    ("ZC", "劳动仲裁档案", VOLUME, True, "ZY"),  # one case file per dispute
    ("SB", "社会保险档案", ITEM, True, "ZY"),
    ("XJ", "学籍档案", VOLUME, True, "ZY"),  # registers bound per class and year
    ("YL", "医疗档案", ITEM, True, "ZY"),
    ("KS", "口述档案", ITEM, False, None),
]


def seed_codes(Category, ReferenceScheme, db: str = "default") -> None:
    """Create the seed categories when the table is empty, and the default 档号 scheme when
    there is none. Called by migration 0002 (historical models) and after every migrate or
    flush (post_migrate), so a database emptied by a flush gets its codes back; an archive's
    own edits and retirements are never overridden."""
    if not Category.objects.using(db).exists():
        by_code: dict = {}
        for order, (code, name, arrangement, livelihood, parent) in enumerate(CATEGORIES, 1):
            by_code[code] = Category.objects.using(db).create(
                code=code,
                name=name,
                arrangement=arrangement,
                livelihood=livelihood,
                parent=by_code.get(parent),
                sort_order=order * 10,
            )
    if not ReferenceScheme.objects.using(db).filter(fonds=None, category=None).exists():
        # The model defaults are the DA/T 22-2015 templates.
        ReferenceScheme.objects.using(db).create(
            note="默认规则（DA/T 22-2015：全宗号-门类代码·年度-保管期限-机构(问题)代码-件号）"
        )
