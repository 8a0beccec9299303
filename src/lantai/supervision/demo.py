"""Demo 演示数据 for supervision 业务指导, made through ``supervision.services`` (every step
audited, the evaluation and rectification workflows as the bureau and the units walk them):

- this year's 100-point evaluation indicator set 测评指标体系, published, with a 必备项 and a
  一票否决 item;
- evaluations of eight agencies: the demo unit officer's 民政局 half-way through its
  self-assessment 自评, the 教育委员会 submitted and awaiting review 评审, the 卫生健康委员会
  published 优秀, the 人力资源和社会保障局 published but capped at 合格 by a failed 必备项
  (its vault, also found by an inspection), the others not started;
- inspections 执法检查: the 民政局's with a rectification order 整改通知 awaiting the demo
  unit officer's response, the 人社局's closed after its rectification was verified, the
  教育委员会's with an overdue order, and one still planned;
- three training sessions 培训 with attendance, and the register of professionals 专业人员名册.

The units' own officers (other than the demo unit officer) are colleague accounts whose
passwords are never shown.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from lantai.accounts.roles import Role
from lantai.holdings.demo.support import (
    ALREADY,
    DONE,
    Skip,
    colleague,
    demo_user,
    mobile,
    need_users,
    pdf,
    rng,
    today,
)
from lantai.holdings.models import Unit
from lantai.supervision import services
from lantai.supervision.models import Evaluation, IndicatorSet, Inspection

#: (code, parent, title, points, key item, 评分标准, 佐证材料) — 100 points in four sections.
INDICATORS = (
    ("1", "", "组织与制度", 0, "", "", ""),
    ("1.1", "1", "档案工作纳入本单位年度工作计划和目标考核", 5, "",
     "纳入年度工作计划得3分，纳入目标考核得2分。", "年度工作计划、目标考核办法"),
    ("1.2", "1", "明确分管领导和专（兼）职档案人员，人员相对稳定", 5, "required",
     "明确分管领导得2分，配备档案人员得3分；未配备档案人员为必备项未达标。", "分工文件、人员名单"),
    ("1.3", "1", "建立归档范围、保管期限表等档案管理制度并经区档案馆审查同意", 5, "",
     "每缺一项制度扣1分。", "制度汇编、审查意见"),
    ("2", "", "设施与安全", 0, "", "", ""),
    ("2.1", "2", "设有专用档案库房，防火、防盗、防潮、防虫等“八防”设施齐全", 10, "required",
     "库房与办公用房混用的，为必备项未达标。", "库房照片、温湿度记录"),
    ("2.2", "2", "档案安全无重大事故，未发生档案损毁、丢失、泄密", 10, "veto",
     "发生档案安全事故的一票否决。", "安全检查记录"),
    ("3", "", "业务建设", 0, "", "", ""),
    ("3.1", "3", "应归尽归、按时归档，上年度文件归档率达到100%", 15, "",
     "归档率每低1个百分点扣1分。", "归档文件目录、发文登记簿"),
    ("3.2", "3", "文书档案按DA/T 22—2015以件为单位整理，分类、排列、编号规范", 10, "",
     "抽查20件，每发现一处错误扣0.5分。", "抽查记录"),
    ("3.3", "3", "电子文件按GB/T 39362—2020在线归档，四性检测合格", 10, "",
     "未开展在线归档的不得分。", "四性检测报告"),
    ("3.4", "3", "按期向区档案馆移交进馆档案", 10, "", "逾期未移交的不得分。", "移交清册"),
    ("4", "", "开发利用", 0, "", "", ""),
    ("4.1", "4", "建立利用登记制度，利用登记完整", 5, "", "", "利用登记簿"),
    ("4.2", "4", "开展档案编研和利用服务，成效明显", 10, "", "", "编研成果、利用效果登记"),
    ("4.3", "4", "配合开放鉴定，按时提出开放意见", 5, "", "", "开放意见书"),
)  # fmt: skip

#: Units evaluated this year; the officers of three of them are colleague accounts.
EVALUATED = ("DW005", "DW006", "DW007", "DW008", "DW009", "DW010", "DW013", "DW014")
OFFICERS = {
    "DW006": ("liumin", "刘敏"),
    "DW007": ("huangli", "黄丽"),
    "DW009": ("zhaogang", "赵刚"),
}
#: 档案专业人员名册: (name, unit, position, title, qualifications, specialties).
PROFESSIONALS = (
    ("陈静", "DW023", "利用科科长", "研究馆员", "硕士研究生，档案学", "开放鉴定、档案编研"),
    ("周海峰", "DW023", "业务指导科科长", "副研究馆员", "本科，档案学", "机关档案业务指导"),
    ("马晓燕", "DW005", "档案员", "助理馆员", "本科，行政管理", "文书档案整理"),
    ("刘敏", "DW006", "档案员", "馆员", "本科，档案学；档案专业技术资格（中级）", "电子文件归档"),
    ("黄丽", "DW007", "档案室负责人", "副研究馆员", "硕士研究生，图书情报与档案管理", "档案信息化"),
    ("郑秀梅", "DW008", "档案员", "馆员", "本科，档案学", "婚姻登记档案"),
    ("赵刚", "DW009", "兼职档案员", "助理馆员", "本科，人力资源管理", "人事档案"),
    ("孙建华", "DW010", "档案员", "馆员", "本科，会计学", "会计档案"),
    ("吕静", "DW013", "档案员", "助理馆员", "本科，土木工程", "城建档案、科技档案"),
    ("姜涛", "DW014", "兼职档案员", "", "大专，市场营销", "文书档案"),
    ("何丽娟", "DW029", "学校档案室管理员", "馆员", "本科，汉语言文学", "学籍档案"),
    ("邵红梅", "DW033", "病案与档案管理员", "副研究馆员", "本科，档案学", "医疗档案"),
)
#: (course, hours, trainer, place, description, share of the year gone by, attendees).
SESSIONS = (
    (
        "《机关档案管理规定》解读与年度测评工作部署",
        Decimal("4"),
        "周海峰（区档案馆）",
        "区政务中心三楼会议室",
        "逐条解读国家档案局令第13号，布置本年度机关档案工作测评。",
        0.15,
        ("马晓燕", "刘敏", "黄丽", "郑秀梅", "赵刚", "孙建华", "吕静", "姜涛"),
    ),
    (
        "电子文件归档与电子档案管理",
        Decimal("6"),
        "王志明（市档案馆 研究馆员）",
        "区档案馆学术报告厅",
        "GB/T 39362—2020 在线归档流程、元数据和四性检测（DA/T 70—2018）实务。",
        0.45,
        ("刘敏", "黄丽", "郑秀梅", "孙建华", "何丽娟", "邵红梅", "徐婷", "陈静"),
    ),
    (
        "档案库房安全与“八防”管理",
        Decimal("3"),
        "陈静（区档案馆）",
        "区档案馆一楼培训室",
        "JGJ 25—2010 库房温湿度要求、八防设施配置与日常巡查。",
        0.75,
        ("赵刚", "吕静", "姜涛", "何丽娟", "邵红梅", "周海峰"),
    ),
)
#: People at a session who are not on the register: (name, unit code).
GUESTS = {"徐婷": "DW025"}


def _this_year_day(share: float) -> date:
    """A day ``share`` of the way from 1 January to yesterday (past work of this year)."""
    now = today()
    start = date(now.year, 1, 1)
    span = max((now - start).days - 1, 0)
    return start + timedelta(days=int(span * share))


def _points(maximum: Decimal, quality: float, pick) -> Decimal:
    """A plausible score: ``quality`` (0–1) of the points, give or take 4 %, in half points."""
    share = min(1.0, max(0.0, pick.uniform(quality - 0.04, quality + 0.04)))
    return Decimal(round(float(maximum) * share * 2) / 2).quantize(Decimal("0.1"))


def _indicator_set(supervisor, year: int) -> IndicatorSet:
    indicator_set = services.save_indicator_set(
        supervisor,
        {
            "year": year,
            "name": _("兰台区机关档案工作测评指标（%(y)d年）") % {"y": year},
            "excellent_min": 90,
            "good_min": 80,
            "pass_min": 70,
            "target_excellent_percent": 30,
            "note": _("依据《机关档案管理规定》（国家档案局令第13号）制定，满分100分。"),
        },
    )
    made: dict[str, object] = {}
    for order, (code, parent, title, points, key, guidance, evidence) in enumerate(INDICATORS):
        # The parent as an object: the service also reads a digit string as a primary key,
        # and "2" would then be whichever indicator has id 2.
        made[code] = services.save_indicator(
            supervisor,
            indicator_set,
            {
                "parent": made[parent] if parent else None,
                "code": code,
                "title": title,
                "max_points": points,
                "key_item": key,
                "guidance": guidance,
                "evidence_required": evidence,
                "sort_order": order * 10,
            },
        )
    return services.publish_set(supervisor, indicator_set)


def _self_assess(officer, evaluation: Evaluation, quality: float, pick, *, share: float = 1.0):
    """The unit's self scores for ``share`` of the items (all of them by default)."""
    scores = list(evaluation.scores.select_related("indicator").order_by("indicator__sort_order"))
    entries = {}
    for score in scores[: max(1, round(len(scores) * share))]:
        entries[score.indicator_id] = {
            "self_score": _points(score.indicator.max_points, quality, pick),
            "self_note": _("已按要求落实，佐证材料见附件。"),
        }
    return services.save_self_scores(officer, evaluation, entries)


def _review(supervisor, evaluation: Evaluation, pick, failed: dict[str, str] | None = None):
    """The bureau's scores: the unit's own, half a point off on two items; ``failed`` maps an
    indicator code to the reason its key item failed (then 4 points at most)."""
    failed = failed or {}
    scores = list(evaluation.scores.select_related("indicator").order_by("indicator__sort_order"))
    cut = {s.indicator_id for s in pick.sample(scores, min(2, len(scores)))}
    entries = {}
    for score in scores:
        code = score.indicator.code
        value = min(score.self_score or Decimal(0), score.indicator.max_points)
        if score.indicator_id in cut:
            value -= Decimal("0.5")
        if code in failed:
            value = min(value, Decimal(4))
        entries[score.indicator_id] = {
            "score": max(value, Decimal(0)),
            "comment": failed.get(code, ""),
            "failed": code in failed,
        }
    return services.save_review(supervisor, evaluation, entries, comment=_("经现场核查评定。"))


def _evaluations(supervisor, indicator_set: IndicatorSet, pick) -> dict[str, Evaluation]:
    units = list(Unit.objects.filter(code__in=EVALUATED).order_by("code"))
    evaluations = {
        e.unit.code: e for e in services.start_evaluations(supervisor, indicator_set, units)
    }
    officers = {code: colleague(u, n, Role.UNIT_OFFICER, code) for code, (u, n) in OFFICERS.items()}
    demo_officer = demo_user("unit_officer")
    # 民政局: the demo unit officer is half-way through (he can finish and submit it).
    if demo_officer is not None and demo_officer.unit is not None:
        own = evaluations.get(demo_officer.unit.code)
        if own is not None:
            _self_assess(demo_officer, own, 0.92, pick, share=0.5)
    # 教育委员会: submitted, awaiting the supervisor's review.
    if "DW006" in evaluations:
        evaluation = _self_assess(officers["DW006"], evaluations["DW006"], 0.9, pick)
        services.submit_self(officers["DW006"], evaluation)
    # 卫生健康委员会: reviewed and published (优秀), with an evidence file.
    if "DW007" in evaluations:
        officer = officers["DW007"]
        evaluation = _self_assess(officer, evaluations["DW007"], 0.97, pick)
        rules = evaluation.scores.filter(indicator__code="1.3").values_list(
            "indicator_id", flat=True
        )
        lines = [
            _("一、归档范围和档案保管期限表"),
            _("二、档案借阅利用制度"),
            _("三、档案库房管理制度"),
        ]
        for indicator_id in rules:
            services.add_score_evidence(
                officer,
                evaluation,
                indicator_id,
                io.BytesIO(pdf(_("档案管理制度汇编"), lines)),
                "档案管理制度汇编.pdf",
            )
        services.submit_self(officer, evaluation)
        _review(supervisor, evaluation, pick)
        services.publish_evaluation(supervisor, evaluation)
    # 人社局: a good score, but its vault fails a 必备项: capped at 合格.
    if "DW009" in evaluations:
        evaluation = _self_assess(officers["DW009"], evaluations["DW009"], 0.96, pick)
        services.submit_self(officers["DW009"], evaluation)
        _review(
            supervisor,
            evaluation,
            pick,
            failed={"2.1": _("档案库房与办公用房混用，温湿度记录不全（见执法检查）。")},
        )
        services.publish_evaluation(supervisor, evaluation)
    return evaluations


def _inspections(supervisor, year: int) -> int:
    now = today()
    made = 0
    # 民政局: inspected three weeks ago; the order awaits the demo unit officer's response.
    day = max(now - timedelta(days=21), date(year, 1, 1))
    inspection = services.save_inspection(
        supervisor,
        {
            "kind": "planned",
            "plan_year": year,
            "unit": "DW008",
            "subject": _("婚姻登记档案管理专项检查"),
            "planned_date": day,
            "inspected_on": day,
            "summary": _("婚姻登记档案总体完整，整理装订和库房管理存在问题，限期整改。"),
        },
        inspectors=[supervisor],
    )
    finding = services.add_finding(
        supervisor,
        inspection,
        _("2019—2021年婚姻登记档案未按年度整理装盒，存在散存现象。"),
        _("《婚姻登记档案管理办法》第十条"),
    )
    services.add_finding(
        supervisor,
        inspection,
        _("档案借阅登记簿未记录归还日期。"),
        _("《机关档案管理规定》第三十五条"),
    )
    services.issue_rectification(
        supervisor,
        inspection,
        _("按年度完成2019—2021年婚姻登记档案的整理装盒，编制目录，报区档案馆验收。"),
        now + timedelta(days=30),
        finding,
    )
    made += 1
    # 人社局: the vault problem, put right, verified, the inspection closed.
    day = _this_year_day(0.55)
    inspection = services.save_inspection(
        supervisor,
        {
            "kind": "ad_hoc",
            "plan_year": year,
            "unit": "DW009",
            "subject": _("档案库房安全专项检查"),
            "inspected_on": day,
            "summary": _("档案库房设置不符合要求，已下达整改通知。"),
        },
        inspectors=[supervisor],
    )
    finding = services.add_finding(
        supervisor,
        inspection,
        _("档案库房与办公用房混用，未配备温湿度监测设备，温湿度记录不全。"),
        _("《机关档案管理规定》第十九条"),
    )
    rect = services.issue_rectification(
        supervisor,
        inspection,
        _("单独设置档案库房，配备除湿、温湿度监测设备，建立温湿度登记制度。"),
        day + timedelta(days=30),
        finding,
    )
    officer = colleague(*OFFICERS["DW009"], Role.UNIT_OFFICER, "DW009")
    report = pdf(_("整改情况报告"), [_("一、库房改造情况"), _("二、设备配置清单")])
    rect = services.respond_rectification(
        officer,
        rect,
        _("已将三楼东侧房间改作专用档案库房，配备除湿机两台和温湿度记录仪，每日登记温湿度。"),
        [(io.BytesIO(report), "整改情况报告.pdf")],
    )
    services.verify_rectification(supervisor, rect, accepted=True, note=_("经现场复查，整改到位。"))
    services.close_inspection(supervisor, inspection)
    made += 1
    # 教育委员会: an order past its deadline with no response yet (逾期未整改).
    day = _this_year_day(0.7)
    inspection = services.save_inspection(
        supervisor,
        {
            "kind": "planned",
            "plan_year": year,
            "unit": "DW006",
            "subject": _("文书档案整理质量检查"),
            "planned_date": day,
            "inspected_on": day,
        },
        inspectors=[supervisor],
    )
    finding = services.add_finding(
        supervisor, inspection, _("2023年度文书档案未按件整理，件号不连续。"), _("DA/T 22—2015")
    )
    services.issue_rectification(
        supervisor,
        inspection,
        _("按DA/T 22—2015重新整理2023年度文书档案。"),
        min(day + timedelta(days=20), now - timedelta(days=1)),
        finding,
    )
    made += 1
    # 住建局: planned later this year.
    later = min(now + timedelta(days=20), date(year, 12, 28))
    services.save_inspection(
        supervisor,
        {
            "kind": "planned",
            "plan_year": year,
            "unit": "DW013",
            "subject": _("城建档案管理年度检查"),
            "planned_date": later,
        },
        inspectors=[supervisor],
    )
    return made + 1


def _people(supervisor) -> tuple[int, int, int]:
    units = {
        u.code: u
        for u in Unit.objects.filter(code__in={p[1] for p in PROFESSIONALS} | set(GUESTS.values()))
    }
    by_name = {}
    for name, unit, position, title, qualifications, specialties in PROFESSIONALS:
        if unit not in units:
            continue
        by_name[name] = services.save_professional(
            supervisor,
            {
                "name": name,
                "unit": units[unit],
                "position": position,
                "title": title,
                "qualifications": qualifications,
                "specialties": specialties,
                "phone": mobile(name),
            },
        )
    sessions = attendances = 0
    for number, (course, hours, trainer, place, text, share, people) in enumerate(SESSIONS, 1):
        day = _this_year_day(share)
        session = services.save_session(
            supervisor,
            {
                "course": course,
                "date": day,
                "hours": hours,
                "trainer": trainer,
                "place": place,
                "description": text,
            },
        )
        sessions += 1
        for seq, name in enumerate(people, 1):
            if name in by_name:
                unit = by_name[name].unit
            elif name in GUESTS and GUESTS[name] in units:
                unit = units[GUESTS[name]]
            else:
                continue
            services.add_attendance(
                supervisor,
                session,
                name,
                unit,
                certificate_no=f"LTPX{day:%Y}-{number:02d}{seq:03d}",
            )
            attendances += 1
    return len(by_name), sessions, attendances


def seed() -> tuple[str, str, dict[str, int]]:
    """Load the supervision demo (see the module docstring); ``already`` when an indicator set
    or an inspection exists."""
    if IndicatorSet.objects.exists() or Inspection.objects.exists():
        return ALREADY, _("已有测评指标或执法检查"), {}
    (supervisor,) = need_users("supervisor")
    if not Unit.objects.filter(code__in=EVALUATED).exists():
        raise Skip(_("没有演示立档单位"))
    pick = rng("supervision")
    year = today().year
    indicator_set = _indicator_set(supervisor, year)
    evaluations = _evaluations(supervisor, indicator_set, pick)
    inspections = _inspections(supervisor, year)
    professionals, sessions, attendances = _people(supervisor)
    return (
        DONE,
        "",
        {
            "evaluations": len(evaluations),
            "inspections": inspections,
            "training_sessions": sessions,
            "trainees": attendances,
            "professionals": professionals,
        },
    )
