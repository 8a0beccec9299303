"""Titles and category-specific description 专门字段 for demo records, one writer per kind.

Each writer gets a ``Context`` (random source, unit, year, date, series) and returns the text of
one item (``ItemText``), or of one volume and the items filed in it (``VolumeText``). Nothing
here touches the database.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from lantai.holdings.demo import data

# --- the context a writer works in ------------------------------------------------------------


@dataclass
class ItemText:
    title: str
    responsible: str = ""
    doc_number: str = ""
    extra: dict = field(default_factory=dict)
    pages: int | None = None
    keywords: str = ""
    day: date | None = None  # set by the context when the writer does not choose one


@dataclass
class VolumeText:
    title: str
    responsible: str
    items: list[ItemText]


class Context:
    """What a writer needs to know: the unit, its name that year, the category, a date."""

    def __init__(self, rng: random.Random, counters: dict) -> None:
        self.rng = rng
        self.counters = counters  # shared across the load: 文号 and case numbers per year
        self.spec: data.UnitSpec
        self.period: data.NamePeriod
        self.year = data.FIRST_YEAR
        self.category_code = ""
        self.category_name = ""
        self.series_code = ""
        self.series_name = ""
        self.day = date(self.year, 1, 1)

    # Where the writer is.
    def enter(self, spec: data.UnitSpec, year: int, category_code: str, category_name: str) -> None:
        self.spec = spec
        self.period = spec.period(year)
        self.year = year
        self.category_code = category_code
        self.category_name = category_name

    @property
    def unit_name(self) -> str:
        return self.period.name

    def new_day(self) -> date:
        first = date(self.year, 1, 1)
        last = data.LAST_DATE if self.year == data.LAST_DATE.year else date(self.year, 12, 31)
        self.day = first + timedelta(days=self.rng.randrange((last - first).days + 1))
        return self.day

    def next_number(self, key: str) -> int:
        value = self.counters.get(key, 0) + 1
        self.counters[key] = value
        return value

    def doc_number(self, prefix: str | None = None) -> str:
        prefix = prefix or self.period.doc_prefix
        return f"{prefix}〔{self.year}〕{self.next_number(f'{prefix}:{self.year}')}号"

    def pick(self, options, weights=None):
        if weights is None:
            return options[self.rng.randrange(len(options))]
        return self.rng.choices(options, weights)[0]

    def person(self, born: int | None = None, sex: str | None = None) -> tuple[str, str, int]:
        """(name, sex, birth year): given names follow the fashion of the birth years."""
        rng = self.rng
        sex = sex or ("男" if rng.random() < 0.5 else "女")
        born = born if born is not None else self.year - rng.randint(20, 55)
        era = "old" if born < 1965 else ("mid" if born < 1995 else "new")
        surname = data.SURNAMES[rng.randrange(len(data.SURNAMES))]
        pool = data.GIVEN_NAMES[era][sex]
        return surname + pool[rng.randrange(len(pool))], sex, born

    def topic(self) -> str:
        roll = self.rng.random()
        if roll < 0.4:
            for start, end, topics in data.ERA_TOPICS:
                if start <= self.year <= end:
                    return self.pick(topics)
        if roll < 0.8 and self.spec.topics:
            return self.pick(self.spec.topics)
        return self.pick(data.COMMON_TOPICS)

    def month(self) -> int:
        return self.day.month


# --- writers by kind --------------------------------------------------------------------------


def ws_item(ctx: Context) -> ItemText:
    """文书: 通知/请示/批复/报告…, 会议纪要, 工作总结."""
    rng, unit, year = ctx.rng, ctx.unit_name, ctx.year
    roll = rng.random()
    pages = 1 + int(rng.expovariate(1 / 4))
    if roll < 0.58:
        kind = ctx.pick(data.DOC_KINDS, (24, 16, 10, 14, 8, 8, 5, 6, 4, 5))
        topic = ctx.topic()
        if kind == "批复":
            responsible = data.DISTRICT + "人民政府"
            title = f"{responsible}关于同意{unit}{topic}的批复"
            return ItemText(title, responsible, ctx.doc_number("兰政函"), pages=pages)
        if kind == "实施方案":
            title = f"关于印发《{unit}{year}年{topic}实施方案》的通知"
            return ItemText(title, unit, ctx.doc_number(), pages=pages + 3)
        with_name = rng.random() < 0.5
        title = f"{unit if with_name else ''}关于{topic}的{kind}"
        return ItemText(title, unit, ctx.doc_number(), pages=pages)
    if roll < 0.72:
        meeting = ctx.pick(data.MEETINGS)
        n = ctx.next_number(f"meeting:{ctx.spec.fonds_code}:{meeting}:{year}")
        return ItemText(
            f"{unit}{meeting}纪要（{year}年第{n}次）", unit, pages=2 + rng.randint(0, 6)
        )
    if roll < 0.82:
        what = ctx.pick(
            ("工作总结", "工作要点", "上半年工作总结", "工作计划", "目标责任书完成情况的报告")
        )
        return ItemText(f"{unit}{year}年{what}", unit, ctx.doc_number(), pages=pages + 4)
    if roll < 0.92:
        return ItemText(
            f"关于印发{year}年{ctx.series_name}工作要点的通知", unit, ctx.doc_number(), pages=pages
        )
    # A notice from the district leadership, filed in the receiving unit's fonds.
    upper, prefix = ctx.pick(data.UPPER_BODIES)
    title = f"{upper}关于{ctx.topic()}的通知"
    return ItemText(title, upper, ctx.doc_number(prefix), pages=pages)


def ws_volume(ctx: Context, days: list[date]) -> VolumeText:
    size = len(days)
    kind = ctx.pick(("文件材料", "请示、报告、批复", "会议记录", "通知、通报", "工作计划、总结"))
    title = f"{ctx.unit_name}{ctx.year}年{ctx.series_name}{kind}"
    return VolumeText(title, ctx.unit_name, [ws_item(ctx) for _ in range(size)])


def _projects(ctx: Context) -> tuple[str, ...]:
    if ctx.year < 1980:
        return (
            "兰河灌区渠系工程",
            "区第一中学礼堂",
            "纺织厂主厂房",
            "城关排水沟渠",
            "农机修造厂车间",
        )
    return data.PROJECTS


def kj_volume(ctx: Context, days: list[date]) -> VolumeText:
    size = len(days)
    """科技: one construction project's documents in a volume."""
    project = ctx.pick(_projects(ctx))
    stage = ctx.pick(("前期", "设计", "施工", "竣工验收"))
    items = []
    for _ in range(size):
        doc = ctx.pick(data.KJ_DOCS)
        items.append(
            ItemText(
                f"{project}{doc}", ctx.unit_name, pages=5 + ctx.rng.randint(0, 80), keywords=project
            )
        )
    return VolumeText(f"{project}{stage}文件", ctx.unit_name, items)


def kj_item(ctx: Context) -> ItemText:
    return kj_volume(ctx, [ctx.day]).items[0]


def ku_volume(ctx: Context, days: list[date]) -> VolumeText:
    size = len(days)
    """会计: vouchers of a month, or the year's ledgers and reports."""
    year = ctx.year
    last = data.LAST_DATE if year == data.LAST_DATE.year else date(year, 12, 31)
    if ctx.rng.random() < 0.75:
        month = ctx.rng.randint(1, last.month)
        book = ctx.next_number(f"ku:{ctx.spec.fonds_code}:{year}:{month}")
        title = f"{year}年{month}月记账凭证（第{book}册）"
        # Vouchers are bound at the end of their month.
        bound = min(last, date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))
        items, start = [], 1
        for _ in range(size):
            count = ctx.rng.randint(10, 40)
            items.append(
                ItemText(
                    f"{year}年{month}月记账凭证第{start}—{start + count - 1}号",
                    ctx.unit_name,
                    pages=count * 2,
                    day=bound,
                )
            )
            start += count
        return VolumeText(title, ctx.unit_name, items)
    books = (
        "总账",
        "明细账",
        "现金日记账",
        "银行存款日记账",
        "固定资产卡片",
        "年度财务决算报表",
        "工资发放表",
        "银行对账单",
    )
    items = [
        ItemText(
            f"{year}年度{ctx.pick(books)}", ctx.unit_name, pages=ctx.rng.randint(10, 120), day=last
        )
        for _ in range(size)
    ]
    return VolumeText(f"{ctx.unit_name}{year}年度会计账簿、报表", ctx.unit_name, items)


def ku_item(ctx: Context) -> ItemText:
    return ku_volume(ctx, [ctx.day]).items[0]


RS_DOCS = (
    "干部履历表",
    "干部任免审批表",
    "年度考核登记表",
    "工资审批表",
    "入党志愿书",
    "学历证明材料",
    "专业技术职务任职资格评审表",
    "奖惩材料",
    "转正定级审批表",
    "退休审批表",
)


def rs_volume(ctx: Context, days: list[date]) -> VolumeText:
    size = len(days)
    """人事: one person's file."""
    name, sex, born = ctx.person(born=ctx.year - ctx.rng.randint(30, 60))
    extra = {"姓名": name, "性别": sex, "出生年份": born}
    items = [
        ItemText(
            f"{name}{RS_DOCS[i % len(RS_DOCS)]}",
            ctx.unit_name,
            extra=dict(extra),
            pages=ctx.rng.randint(1, 6),
        )
        for i in range(size)
    ]
    return VolumeText(f"{name}人事档案", ctx.unit_name, items)


def rs_item(ctx: Context) -> ItemText:
    name, _sex, _born = ctx.person()
    title = ctx.pick(
        (
            f"关于{name}等同志职务任免的通知",
            f"{ctx.year}年度公务员（职工）年度考核结果",
            f"{ctx.unit_name}{ctx.year}年度干部职工花名册",
        )
    )
    return ItemText(title, ctx.unit_name, ctx.doc_number(), pages=ctx.rng.randint(1, 8))


def _company(ctx: Context) -> str:
    words = ("宏达", "兴业", "恒通", "华强", "金河", "新光", "利民", "鑫源", "东方", "永安")
    kinds = ("商贸有限公司", "建筑工程有限公司", "食品厂", "机械有限公司", "物流有限公司", "餐饮店")
    return f"{data.DISTRICT}{ctx.pick(words)}{ctx.pick(kinds)}"


def zy_item(ctx: Context) -> ItemText:
    """专业: the business records of the unit's own trade."""
    code, year = ctx.spec.fonds_code, ctx.year
    name, sex, born = ctx.person()
    if code == "Z014":
        company = _company(ctx)
        what = ctx.pick(("设立登记", "变更登记", "注销登记", "年度检验"))
        return ItemText(
            f"{company}{what}材料",
            ctx.unit_name,
            extra={"企业名称": company},
            pages=ctx.rng.randint(4, 30),
        )
    if code == "Z016":
        target = ctx.pick(data.UNITS).period(year).name
        return ItemText(
            f"关于{target}{year}年度预算执行情况的审计报告",
            ctx.unit_name,
            ctx.doc_number(),
            pages=ctx.rng.randint(8, 40),
        )
    if code == "Z011":
        other, _s, _b = ctx.person()
        title = ctx.pick((f"{name}法律援助案卷", f"{name}与{other}民间纠纷调解卷"))
        return ItemText(title, ctx.unit_name, extra={"当事人": name}, pages=ctx.rng.randint(5, 25))
    if code in ("Z022", "Z008"):
        return ItemText(
            f"{name}优抚对象档案",
            ctx.unit_name,
            extra={"姓名": name, "性别": sex, "出生年份": born},
            pages=ctx.rng.randint(3, 15),
        )
    if code in ("Z020", "Z021"):
        company = _company(ctx)
        what = ctx.pick(("建设项目环境影响评价文件", "安全生产许可材料", "排污许可材料"))
        return ItemText(
            f"{company}{what}",
            ctx.unit_name,
            extra={"企业名称": company},
            pages=ctx.rng.randint(10, 60),
        )
    if code in ("Z007", "X007"):
        what = ctx.pick(
            (f"{year}年传染病疫情报告", f"{_company(ctx)}卫生许可材料", f"{year}年计划免疫接种统计")
        )
        return ItemText(what, ctx.unit_name, pages=ctx.rng.randint(2, 20))
    if ctx.spec.kind == "hospital":
        return ItemText(
            f"{year}年{ctx.series_name}业务登记簿", ctx.unit_name, pages=ctx.rng.randint(20, 200)
        )
    return ItemText(
        f"{name}最低生活保障申请审批材料",
        ctx.unit_name,
        extra={"姓名": name, "性别": sex, "出生年份": born},
        pages=ctx.rng.randint(3, 12),
    )


def zp_item(ctx: Context) -> ItemText:
    event = ctx.pick(data.PHOTO_EVENTS)
    photographer, _s, _b = ctx.person()
    count = ctx.rng.randint(1, 40)
    return ItemText(
        f"{ctx.unit_name}{event}照片",
        ctx.unit_name,
        extra={"摄影者": photographer, "张数": count, "拍摄日期": ctx.day.isoformat()},
        keywords=event,
    )


def ly_item(ctx: Context) -> ItemText:
    meeting = ctx.pick((*data.MEETINGS, "领导讲话", "座谈会"))
    minutes = ctx.rng.randint(20, 180)
    return ItemText(
        f"{ctx.unit_name}{meeting}录音",
        ctx.unit_name,
        extra={"时长（分钟）": minutes, "录制日期": ctx.day.isoformat()},
    )


def lx_item(ctx: Context) -> ItemText:
    event = ctx.pick(data.PHOTO_EVENTS)
    minutes = ctx.rng.randint(3, 120)
    return ItemText(
        f"{event}录像",
        ctx.unit_name,
        extra={"时长（分钟）": minutes, "录制日期": ctx.day.isoformat()},
        keywords=event,
    )


def sj_item(ctx: Context) -> ItemText:
    system = ctx.pick(data.SYSTEMS)
    size = ctx.rng.randint(5, 4000)
    return ItemText(
        f"{ctx.unit_name}{system}{ctx.year}年度业务数据",
        ctx.unit_name,
        extra={"系统名称": system, "数据量（MB）": size},
    )


def yj_item(ctx: Context) -> ItemText:
    sender, _s, _b = ctx.person()
    return ItemText(
        f"关于{ctx.topic()}的电子邮件",
        ctx.unit_name,
        extra={"发件人": sender, "发送日期": ctx.day.isoformat()},
    )


def wy_item(ctx: Context) -> ItemText:
    return ItemText(
        f"{ctx.unit_name}门户网站网页（{ctx.year}年{ctx.month()}月）",
        ctx.unit_name,
        extra={"采集日期": ctx.day.isoformat(), "网页数": ctx.rng.randint(20, 900)},
    )


def mt_item(ctx: Context) -> ItemText:
    account = ctx.pick(data.ACCOUNTS)
    return ItemText(
        f"“{account}”微信公众号推文（{ctx.year}年{ctx.month()}月）",
        ctx.unit_name,
        extra={"账号": account, "篇数": ctx.rng.randint(5, 90)},
    )


def sw_item(ctx: Context) -> ItemText:
    obj = ctx.pick(data.OBJECTS)
    honour = ctx.pick(
        ("先进集体", "文明单位", "档案工作先进单位", "优秀组织奖", "抗洪抢险先进集体")
    )
    if obj == "锦旗":
        giver, _s, _b = ctx.person()
        return ItemText(f"{giver}赠{ctx.unit_name}锦旗", ctx.unit_name, extra={"赠送人": giver})
    return ItemText(f"{ctx.unit_name}获“{honour}”{obj}", ctx.unit_name, extra={"数量": 1})


def hy_item(ctx: Context) -> ItemText:
    """婚姻登记: the two parties, the kind of registration, the certificate number."""
    year = ctx.year
    man, _s, man_born = ctx.person(born=year - ctx.rng.randint(22, 36), sex="男")
    woman, _s, woman_born = ctx.person(born=year - ctx.rng.randint(20, 33), sex="女")
    divorce = ctx.rng.random() < (0.03 if year < 1980 else 0.12)
    kind = "离婚登记" if divorce else "结婚登记"
    number = ctx.next_number(f"hy:{year}:{kind}")
    prefix = "L" if divorce else "J"
    extra = {
        "男方": man,
        "男方出生年份": man_born,
        "女方": woman,
        "女方出生年份": woman_born,
        "登记类型": kind,
        "登记日期": ctx.day.isoformat(),
        "证字号": f"{prefix}{data.ARCHIVE_AREA}-{year}-{number:06d}",
    }
    return ItemText(
        f"{man}、{woman}{kind}",
        ctx.unit_name,
        extra=extra,
        pages=ctx.rng.randint(2, 6),
        keywords=kind,
    )


def _employer(ctx: Context) -> str:
    if ctx.spec.kind == "enterprise":
        return ctx.unit_name
    return ctx.pick(data.ENTERPRISES)


def zg_volume(ctx: Context, days: list[date]) -> VolumeText:
    size = len(days)
    """招工: one year's hiring approvals, a registration form per worker."""
    form = (
        "全民所有制固定工"
        if ctx.year < 1986
        else ctx.pick(("全民合同制工人", "集体所有制合同工", "全民合同制工人"))
    )
    items = []
    for _ in range(size):
        name, sex, born = ctx.person(born=ctx.year - ctx.rng.randint(16, 25))
        employer = _employer(ctx)
        extra = {
            "姓名": name,
            "性别": sex,
            "出生年份": born,
            "招工单位": employer,
            "用工形式": form,
        }
        items.append(
            ItemText(
                f"{name}招工登记表",
                ctx.unit_name,
                extra=extra,
                pages=ctx.rng.randint(1, 4),
                keywords="招工",
            )
        )
    batch = ctx.next_number(f"zg:{ctx.spec.fonds_code}:{ctx.year}")
    return VolumeText(
        f"{ctx.unit_name}{ctx.year}年招工审批材料（第{batch}批）", ctx.unit_name, items
    )


def zg_item(ctx: Context) -> ItemText:
    return zg_volume(ctx, [ctx.day]).items[0]


ZC_DOCS = (
    "仲裁申请书",
    "受理通知书",
    "答辩书",
    "证据材料",
    "庭审笔录",
    "调解书",
    "仲裁裁决书",
    "送达回证",
)


def zc_volume(ctx: Context, days: list[date]) -> VolumeText:
    size = len(days)
    """劳动仲裁: one dispute's case file."""
    applicant, sex, born = ctx.person()
    respondent = _company(ctx)
    case = f"兰劳人仲案字〔{ctx.year}〕{ctx.next_number(f'zc:{ctx.year}')}号"
    extra = {
        "申请人": applicant,
        "性别": sex,
        "出生年份": born,
        "被申请人": respondent,
        "案号": case,
    }
    items = [
        ItemText(
            f"{applicant}与{respondent}劳动争议案{ZC_DOCS[i % len(ZC_DOCS)]}",
            ctx.unit_name,
            extra=dict(extra),
            pages=ctx.rng.randint(1, 12),
            keywords="劳动争议",
        )
        for i in range(size)
    ]
    return VolumeText(f"{applicant}与{respondent}劳动争议仲裁案", ctx.unit_name, items)


def zc_item(ctx: Context) -> ItemText:
    return zc_volume(ctx, [ctx.day]).items[0]


def sb_item(ctx: Context) -> ItemText:
    name, sex, born = ctx.person(born=ctx.year - ctx.rng.randint(18, 60))
    what = ctx.pick(
        ("参保登记表", "社会保险关系转移接续材料", "养老保险待遇核定表", "缴费年限认定材料")
    )
    insurance = ctx.pick(("企业职工基本养老保险", "失业保险", "工伤保险", "城乡居民基本养老保险"))
    extra = {"姓名": name, "性别": sex, "出生年份": born, "险种": insurance}
    return ItemText(
        f"{name}{what}",
        ctx.unit_name,
        extra=extra,
        pages=ctx.rng.randint(1, 8),
        keywords="社会保险",
    )


def _school(ctx: Context) -> tuple[str, str, int]:
    """(school name, first-year grade, age at entry)."""
    if ctx.spec.kind == "school":
        name = ctx.unit_name
    else:
        name = ctx.pick([s.period(ctx.year).name for s in data.UNITS if s.kind == "school"])
    if "小学" in name:
        return name, "一年级", 6
    if "职业" in name:
        return name, "一年级", 15
    return (name, "高一", 15) if ctx.rng.random() < 0.4 else (name, "初一", 12)


def xj_volume(ctx: Context, days: list[date]) -> VolumeText:
    size = len(days)
    """学籍: one class's student records."""
    school, grade, age = _school(ctx)
    klass = ctx.pick(data.CLASSES)
    items = []
    for _ in range(size):
        name, sex, born = ctx.person(born=ctx.year - age)
        extra = {
            "学生姓名": name,
            "性别": sex,
            "出生年份": born,
            "学校": school,
            "入学年份": ctx.year,
            "班级": f"{grade}（{klass}）",
        }
        items.append(
            ItemText(
                f"{name}学籍卡",
                ctx.unit_name,
                extra=extra,
                pages=ctx.rng.randint(1, 3),
                keywords="学籍",
            )
        )
    return VolumeText(f"{school}{ctx.year}级{grade}{klass}学生学籍档案", ctx.unit_name, items)


def xj_item(ctx: Context) -> ItemText:
    return xj_volume(ctx, [ctx.day]).items[0]


def yl_item(ctx: Context) -> ItemText:
    name, sex, born = ctx.person(born=ctx.year - ctx.rng.randint(1, 85))
    dept = ctx.pick(("内科", "外科", "妇产科", "儿科", "骨科", "中医科", "传染科"))
    what = ctx.pick(("住院病案", "住院病案", "出生医学证明存根", "门诊病历"))
    extra = {"患者姓名": name, "性别": sex, "出生年份": born, "科室": dept}
    return ItemText(
        f"{name}{what}", ctx.unit_name, extra=extra, pages=ctx.rng.randint(3, 60), keywords=what
    )


def ks_item(ctx: Context) -> ItemText:
    """口述档案: an interview, its interviewee, interviewer, length and place."""
    subject = ctx.pick(data.ORAL_SUBJECTS)
    name, sex, born = ctx.person(born=ctx.rng.randint(1922, 1962))
    interviewer, _s, _b = ctx.person(born=ctx.rng.randint(1970, 1998))
    extra = {
        "受访者": name,
        "性别": sex,
        "出生年份": born,
        "采访者": interviewer,
        "采访日期": ctx.day.isoformat(),
        "时长（分钟）": ctx.rng.randint(30, 240),
        "地点": ctx.pick(("受访者家中", "区档案馆口述录制室", "社区活动中心")),
        "主题": subject,
    }
    return ItemText(f"{name}口述：{subject}", ctx.unit_name, extra=extra, keywords="口述历史")


def person_item(ctx: Context) -> ItemText:
    """A livelihood category the demo has no special writer for: one person's record."""
    name, sex, born = ctx.person()
    return ItemText(
        f"{name}{ctx.category_name}",
        ctx.unit_name,
        extra={"姓名": name, "性别": sex, "出生年份": born},
        pages=ctx.rng.randint(1, 10),
    )


def items_into_volume(item: Callable[[Context], ItemText]):
    """A volume writer for kinds that only describe items: the year's items of one series."""

    def volume(ctx: Context, days: list[date]) -> VolumeText:
        title = f"{ctx.unit_name}{ctx.year}年{ctx.series_name}{ctx.category_name}"
        texts = []
        for day in days:
            ctx.day = day  # writers date what they describe (登记日期 …) by the item's day
            texts.append(item(ctx))
        return VolumeText(title, ctx.unit_name, texts)

    return volume


@dataclass(frozen=True)
class Kind:
    item: Callable[[Context], ItemText]
    volume: Callable[[Context, list[date]], VolumeText]
    volume_size: tuple[int, int]
    series: tuple[str, ...] = ()  # preferred 机构(问题) codes, first present wins


def _kind(item, volume=None, size=(5, 25), series=()) -> Kind:
    return Kind(item, volume or items_into_volume(item), size, series)


KINDS: dict[str, Kind] = {
    "WS": _kind(ws_item, ws_volume, (5, 30)),
    "KJ": _kind(kj_item, kj_volume, (3, 20), ("GCK", "技术", "GCB", "CJK", "ZJZ", "生产", "GWK")),
    "KU": _kind(ku_item, ku_volume, (8, 30), ("CWK", "财务", "CWB", "KJK", "CZS", "JJK", "GKK")),
    "RS": _kind(rs_item, rs_volume, (3, 10), ("RSK", "劳资", "BGS", "校办", "YZ", "厂办")),
    "ZY": _kind(zy_item),
    "ZP": _kind(zp_item),
    "LY": _kind(ly_item),
    "LX": _kind(lx_item, series=("XWB",)),
    "SJ": _kind(sj_item),
    "YJ": _kind(yj_item),
    "WY": _kind(wy_item),
    "MT": _kind(mt_item, series=("XWB",)),
    "SW": _kind(sw_item),
    "HY": _kind(hy_item, size=(20, 60), series=("HYDJ",)),
    "ZG": _kind(zg_item, zg_volume, (10, 40), ("LDLY", "劳资")),
    "ZC": _kind(zc_item, zc_volume, (3, 8), ("ZCK",)),
    "SB": _kind(sb_item, series=("SBK",)),
    "XJ": _kind(xj_item, xj_volume, (20, 45), ("教务", "学籍", "招就", "JCJY")),
    "YL": _kind(yl_item, series=("YWK",)),
    "KS": _kind(ks_item, series=("KSDA",)),
}

#: Categories an archive adds under other codes are written by the kind their name suggests.
KIND_WORDS = (
    ("婚姻", "HY"),
    ("招工", "ZG"),
    ("仲裁", "ZC"),
    ("社会保险", "SB"),
    ("社保", "SB"),
    ("学籍", "XJ"),
    ("学历", "XJ"),
    ("医疗", "YL"),
    ("病历", "YL"),
    ("口述", "KS"),
    ("照片", "ZP"),
    ("录音", "LY"),
    ("录像", "LX"),
    ("科技", "KJ"),
    ("会计", "KU"),
    ("人事", "RS"),
    ("实物", "SW"),
    ("网页", "WY"),
)


def kind_for(code: str, name: str, livelihood: bool) -> Kind:
    if code in KINDS:
        return KINDS[code]
    for word, known in KIND_WORDS:
        if word in name:
            return KINDS[known]
    return _kind(person_item) if livelihood else KINDS["WS"]
