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


# --- cross-archive requests 跨馆出证 -------------------------------------------------------------

#: Two partner archives 协作馆 in the same (fictitious) city. Their API addresses are left
#: empty: the demo cannot reach another archive, so forwarding waits (待转发) as it would while
#: a partner is being connected.
PARTNERS = (
    {"code": "411003", "name": "青山区档案馆", "region": "本市青山区", "contact": "0391-3216688"},
    {"code": "411022", "name": "兰河县档案馆", "region": "本市兰河县", "contact": "0391-7352210"},
)


def _person(category_code: str, skip: int = 0) -> tuple[Item, str, str] | None:
    """A livelihood record naming a person with an ID number: (item, name, number)."""
    from lantai.livelihood.models import PersonRef

    category = Category.objects.filter(code=category_code, livelihood=True).first()
    if category is None:
        return None
    roles = persons.roles_for(category)
    items = (
        Item.objects.filter(category=category, year__gte=ID_FROM_YEAR)
        .filter(pk__in=PersonRef.objects.filter(id_hash__isnull=False).values("item_id"))
        .order_by("reference_code")
    )
    found = 0
    for item in items[:100]:
        extra = item.extra if isinstance(item.extra, dict) else {}
        for role in roles:
            name = next((extra[k] for k in role.get("name", []) if extra.get(k)), None)
            number = next((extra[k] for k in role.get("id", []) if extra.get(k)), None)
            if name and number:
                if found == skip:
                    return item, str(name), str(number)
                found += 1
                break
    return None


def seed_cross() -> tuple[str, str, dict]:
    """Demo cross-archive requests 跨馆出证 through ``livelihood.services``: partner archives
    and requests in every step — 申请 (awaiting 受理), 协办 (accepted, we hold the records),
    办结 with a certificate, 无档, 退回, one received from a partner awaiting our answer and
    one of ours waiting to be forwarded to a partner."""
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from lantai.holdings.demo.support import ALREADY, DONE, Skip, id_number, mobile, need_users
    from lantai.livelihood import services
    from lantai.livelihood.models import CrossRequest, PartnerArchive

    if CrossRequest.objects.exists() or PartnerArchive.objects.exists():
        return ALREADY, _("已有跨馆出证申请或协作馆"), {}
    sysadmin, archivist = need_users("sysadmin", "archivist")
    wanted = {
        "submitted": _person("ZG"),
        "assisting": _person("SB"),
        "done": _person("HY", skip=1),  # not the couple of the use-request demo
        "incoming": _person("XJ"),
    }
    if not any(wanted.values()):
        raise Skip(_("没有带身份证号的民生档案"))
    partners = [services.save_partner(sysadmin, dict(p))[0] for p in PARTNERS]

    def walk_in(person: tuple[Item, str, str], records: str, purpose: str, **extra):
        item, name, number = person
        data = {
            "applicant_name": name,
            "id_number": number,
            "phone": mobile(name),
            "records_sought": records,
            "purpose": purpose,
            "category_code": item.category.code,
            **extra,
        }
        return services.apply(archivist, data, item_ids=[item.pk], walk_in=True)

    if wanted["submitted"]:
        year = wanted["submitted"][0].year
        walk_in(wanted["submitted"], _("本人%(y)d年招工登记表") % {"y": year}, _("办理退休手续"))
    if wanted["assisting"]:
        req = walk_in(
            wanted["assisting"],
            _("本人%(y)d年参保登记档案") % {"y": wanted["assisting"][0].year},
            _("社会保险关系转移接续"),
        )
        services.accept(archivist, req)
    if wanted["done"]:
        req = walk_in(
            wanted["done"],
            _("本人%(y)d年结婚登记档案") % {"y": wanted["done"][0].year},
            _("不动产继承公证"),
        )
        req = services.accept(archivist, req)
        req = services.answer(
            archivist, req, found=True, note=_("查有档案，已出具档案证明（加盖档案利用章）。")
        )
        services.conclude(archivist, req, _("已电话告知申请人到窗口领取档案证明。"))

    # 无档: nobody of that name and number in the index.
    name = "许振华"
    req = services.apply(
        archivist,
        {
            "applicant_name": name,
            "id_number": id_number(name, 1961, "男"),
            "phone": mobile(name),
            "records_sought": _("本人1986年结婚登记档案"),
            "purpose": _("补办结婚证"),
            "category_code": "HY",
        },
        walk_in=True,
    )
    req = services.accept(archivist, req)
    req = services.answer(
        archivist,
        req,
        found=False,
        note=_("经查本馆1980—1990年婚姻登记档案，未查到申请人的结婚登记记录。"),
    )
    services.conclude(archivist, req, _("已告知申请人到婚姻登记机关查询。"))

    # 退回: the identity could not be confirmed.
    name = "钱桂英"
    req = services.apply(
        archivist,
        {
            "applicant_name": name,
            "id_number": id_number(name, 1949, "女"),
            "phone": mobile(name),
            "records_sought": _("其父1975年招工档案"),
            "purpose": _("办理遗属补助"),
            "category_code": "ZG",
        },
        walk_in=True,
    )
    services.return_request(
        archivist, req, _("代他人申请须提交亲属关系证明和委托书，申请人未能提供，请补齐后再申请。")
    )

    # 协办 for a partner: a request received from 青山区档案馆 (through its API in real life).
    if wanted["incoming"]:
        item, name, number = wanted["incoming"]
        services.receive(
            partners[0],
            {
                "number": f"KG{partners[0].code}{timezone.localdate():%Y%m%d}0001",
                "receiving_name": partners[0].name,
                "applicant_name": name,
                "applicant_id_number": number,
                "category_code": item.category.code,
                "records_sought": _("本人初中学籍档案（%(y)d年入学）") % {"y": item.year},
                "purpose": _("学历认证"),
            },
        )

    # 待转发: a citizen here asks for records that 兰河县档案馆 holds.
    name = "冯建军"
    req = services.apply(
        archivist,
        {
            "applicant_name": name,
            "id_number": id_number(name, 1957, "男"),
            "phone": mobile(name),
            "holding_code": partners[1].code,
            "records_sought": _("本人1976年在兰河县插队期间的招工档案"),
            "purpose": _("办理退休手续，认定工龄"),
            "category_code": "ZG",
        },
        walk_in=True,
    )
    services.accept(archivist, req)

    counts = {
        "partners": len(partners),
        "cross_requests": CrossRequest.objects.count(),
        "cross_done": CrossRequest.objects.filter(status="done").count(),
    }
    return DONE, "", counts
