"""Demo 演示数据 for outreach 宣传与编研, made through ``outreach.services`` (audited, with the
same checks as the screens and the portal):

- visits 参观接待: slots for the next four weeks with group bookings (confirmed, awaiting
  confirmation, one declined), and the groups received earlier this year and last year, so
  the visitor statistics have months to show;
- an online exhibition 网上展览 in a column 专题栏目, built only from records open to the
  public, with an article, and a second exhibition still in preparation (not public);
- a call for material 征集公告 for the accession campaign, with offers from the public (one
  with a photo, one accepted);
- compilation 编研: a project in progress with its sources and a finished one with its book;
- oral history 口述档案: a project, an interviewee, an interview with consent form, a recording
  and a time-coded transcript, under an embargo of two years (限制利用).

Past visits cannot be booked (the public books from tomorrow on) and there is no service to
register a visit after the fact: their bookings are written through the model, then confirmed
and checked in through the services.
"""

from __future__ import annotations

import io
import struct
import wave
from datetime import date, datetime, time, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.accounts.roles import Role
from lantai.holdings.demo.support import (
    ALREADY,
    DONE,
    Skip,
    colleague,
    mobile,
    need_users,
    pdf,
    rng,
    today,
)
from lantai.holdings.models import Fonds, Item, Series
from lantai.holdings.services import visible_items
from lantai.outreach import services
from lantai.outreach.models import (
    CompilationStatus,
    Exhibition,
    OfferStatus,
    PublicationKind,
    VisitBooking,
    VisitSlot,
)

#: Upcoming group bookings: (organisation, contact, people, purpose, what staff do).
UPCOMING = (
    ("兰台区第一中学初二年级", "何丽娟", 45, "爱国主义教育社会实践活动", "confirm"),
    ("城关街道老年大学书画班", "杨秀兰", 25, "参观“兰台记忆”档案展", "confirm"),
    ("区税务局机关党支部", "宋晓东", 30, "主题党日活动：走进档案馆", "pending"),
    ("兰台师范学院历史系2023级", "林振华", 40, "专业实习：档案馆工作认知", "pending"),
    ("东城社区志愿者服务队", "韩桂兰", 15, "了解家庭档案捐赠", "decline"),
)
#: Groups of past visits, drawn in turn.
PAST_GROUPS = (
    ("兰台区实验小学五年级", "曹雪梅"),
    ("区委组织部新录用公务员培训班", "邓海峰"),
    ("兰台区第二中学历史兴趣小组", "罗晓燕"),
    ("西湖街道社区党委", "彭建华"),
    ("区卫生健康委员会机关党支部", "黄丽"),
    ("兰台纺织厂退休职工协会", "唐秀英"),
    ("兰台区职业中等专业学校", "谢涛"),
    ("南郊镇中心小学", "冯丽"),
    ("区融媒体中心采编部", "许晓东"),
    ("兰台师范学院档案学专业", "林振华"),
)
#: The first letters of references, as ``services`` makes them (no 0/O/1/I).
REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

EXHIBITION_SECTIONS = (
    (
        "一、百废待兴（1950—1977）",
        "新中国成立后，兰台区各级机关在废墟上重建家园，兴修水利，兴办工厂和学校。",
        (1950, 1977),
    ),
    (
        "二、春潮涌动（1978—1999）",
        "改革开放以后，企业扩大自主权，个体经济兴起，城乡面貌日新月异。",
        (1978, 1999),
    ),
    (
        "三、跨越发展（2000年以来）",
        "新世纪以来，兰台区推进城市更新和公共服务建设，民生福祉持续改善。",
        (2000, 2100),
    ),
)

TRANSCRIPT = """WEBVTT

00:00:05.000 --> 00:00:21.000
<v 陈静>刘阿姨，您是哪一年进的兰台纺织厂？

00:00:21.000 --> 00:01:02.500
<v 刘桂兰>1956年秋天，厂子刚建起来，我十八岁，是第一批招进去的挡车工。

00:01:02.500 --> 00:01:40.000
<v 陈静>那时候车间是什么样子？

00:01:40.000 --> 00:03:15.000
<v 刘桂兰>细纱车间一百多台车，三班倒，夏天车间里四十多度，棉絮满天飞，下了班头发都是白的。

00:03:15.000 --> 00:04:30.000
<v 陈静>听说您1983年被评为省劳动模范？

00:04:30.000 --> 00:06:12.000
<v 刘桂兰>那是大家的功劳。我们小组创造了“巡回接头操作法”，断头率降了一半，厂里在全区推广。

00:06:12.000 --> 00:07:40.000
<v 陈静>厂子改制的时候，您是什么心情？

00:07:40.000 --> 00:09:05.000
<v 刘桂兰>舍不得啊。1998年厂子改制，老姐妹们都去看了最后一次开车，好多人都哭了。
"""


def _reference(prefix: str, day: date, pick) -> str:
    return f"{prefix}-{day:%Y%m%d}-" + "".join(pick.choice(REF_ALPHABET) for _i in range(5))


def _wav(seconds: int = 2, rate: int = 8000) -> bytes:
    """A short, quiet mono WAV (the demo's excerpt of the recording)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"".join(struct.pack("<h", (n % 40) - 20) for n in range(seconds * rate)))
    return out.getvalue()


def _png(seed: str) -> bytes:
    """A picture standing for a photo of an old certificate of merit 奖状 (offer photos)."""
    from PIL import Image, ImageDraw

    pick = rng(seed)
    img = Image.new("RGB", (480, 340), (232, 220, 196))
    draw = ImageDraw.Draw(img)
    draw.rectangle([18, 18, 462, 322], outline=(168, 40, 36), width=8)
    draw.rectangle([40, 40, 440, 300], outline=(190, 150, 80), width=2)
    for n in range(7):
        y = 100 + n * 26
        draw.line([80, y, 80 + pick.randrange(180, 320), y], fill=(90, 70, 50), width=3)
    draw.ellipse([330, 220, 410, 300], outline=(200, 30, 30), width=4)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _isbn13(first12: str) -> str:
    digits = [int(c) for c in first12]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return first12 + str(check)


# --- visits --------------------------------------------------------------------------------------


def _visits(archivist, pick) -> dict[str, int]:
    now = today()
    created = services.generate_slots(archivist, now + timedelta(days=1), now + timedelta(days=28))
    slots = list(VisitSlot.objects.filter(date__gt=now).order_by("date", "start"))
    upcoming = 0
    for n, (organisation, contact, people, purpose, step) in enumerate(UPCOMING):
        if not slots:
            break
        slot = slots[min(len(slots) - 1, 2 + n * 3)]
        booking = services.book_visit(
            {
                "slot": slot,
                "organisation": organisation,
                "contact": contact,
                "phone": mobile(organisation),
                "people": people,
                "purpose": purpose,
            }
        )
        if step == "confirm":
            services.confirm_booking(archivist, booking)
        elif step == "decline":
            services.decline_booking(
                archivist, booking, _("该时段展厅布展调整，已电话联系改约下周同一时间。")
            )
        upcoming += 1
    received = _past_visits(archivist, pick)
    return {"visit_slots": created, "bookings": upcoming, "visits_received": received}


def _past_days(pick) -> list[date]:
    """Two visit days a month this year up to yesterday, one or two a month last year."""
    now = today()
    days = []
    for year, per_month in ((now.year - 1, (1, 2)), (now.year, (2, 2))):
        for month in range(1, 13):
            for _n in range(pick.choice(per_month)):
                day = date(year, month, pick.randrange(3, 27))
                if day.weekday() in (0, 6):  # closed on Sunday and Monday
                    day += timedelta(days=2)
                if day < now:
                    days.append(day)
    return sorted(set(days))


def _past_visits(archivist, pick) -> int:
    """Visits already received: slot through the service, booking through the model (see the
    module docstring), then confirmed and checked in (one group did not come)."""
    days = _past_days(pick)
    received = 0
    for n, day in enumerate(days):
        start = time(9, 30) if n % 2 else time(14, 0)
        slot = VisitSlot.objects.filter(date=day, start=start).first() or services.save_slot(
            archivist, {"date": day, "start": start, "capacity": 60}
        )
        organisation, contact = PAST_GROUPS[n % len(PAST_GROUPS)]
        people = pick.randrange(18, 56)
        # The conditional UPDATE the booking service uses, so the slot never overbooks.
        if not VisitSlot.objects.filter(pk=slot.pk, booked__lte=F("capacity") - people).update(
            booked=F("booked") + people
        ):
            continue
        booking = VisitBooking.objects.create(
            reference=_reference("CG", day - timedelta(days=7), pick),
            slot=slot,
            organisation=organisation,
            contact=contact,
            phone=mobile(organisation),
            people=people,
            purpose=_("参观档案馆和馆藏档案展览"),
        )
        booked_at = timezone.make_aware(datetime.combine(day - timedelta(days=7), time(10, 0)))
        VisitBooking.objects.filter(pk=booking.pk).update(created_at=booked_at)
        booking = services.confirm_booking(archivist, booking)
        if n == 3:
            services.mark_no_show(archivist, booking)
            continue
        services.check_in(archivist, booking, max(1, people - pick.randrange(0, 4)))
        received += 1
    return received


# --- exhibitions, column, call for material ------------------------------------------------------


def _open_items(start: int, end: int, pick, count: int) -> list[Item]:
    """``count`` records open to the public from ``start``–``end``: photos and objects first."""
    public = (
        services.visible_public_items().filter(year__range=(start, end)).exclude(reference_code="")
    )
    chosen: list[Item] = []
    for codes in (("ZP", "SW"), ("WS", "KJ", "ZY")):
        pool = list(
            public.filter(category__code__in=codes)
            .order_by("reference_code")
            .select_related("fonds")[:300]
        )
        pick.shuffle(pool)
        chosen += pool[: count - len(chosen)]
        if len(chosen) >= count:
            break
    return sorted(chosen, key=lambda i: (i.year, i.reference_code))


def _exhibitions(archivist, pick) -> tuple[dict[str, int], Exhibition]:
    """The column, its article, the published exhibition and the one in preparation (returned:
    the call for material gathers for it)."""
    now = today()
    column = services.save_column(
        archivist,
        {
            "title": _("兰台记忆"),
            "intro": _("讲述馆藏档案里的兰台故事。"),
            "sort_order": 10,
        },
    )
    services.set_published(archivist, column, True)
    article = services.save_article(
        archivist,
        {
            "column": column,
            "title": _("一份1956年的批复：兰台纺织厂的诞生"),
            "body": _(
                "1956年，兰台区人民政府批复同意筹建兰台纺织厂。这份批复至今保存在区档案馆，"
                "见证了兰台第一家现代纺织企业的诞生。此后四十余年，纺织厂累计招收职工三千余人，"
                "成为兰台工业的“老大哥”。1998年企业改制，其全部档案移交区档案馆保存。"
            ),
        },
    )
    services.set_published(archivist, article, True)
    exhibition = services.save_exhibition(
        archivist,
        {
            "title": _("兰台记忆——馆藏档案里的城市变迁"),
            "summary": _("精选馆藏开放档案，回望兰台七十余年的发展历程。"),
            "intro": _(
                "档案是历史的真实记录。本展览从兰台区档案馆馆藏开放档案中精选文件、照片和实物，"
                "分三个单元展示兰台从百废待兴到跨越发展的城市变迁。"
            ),
            "column": column,
            "venue": _("兰台区档案馆一楼展厅"),
            "start_date": now - timedelta(days=45),
            "end_date": now + timedelta(days=320),
        },
    )
    exhibits = 0
    for order, (title, text, (start, end)) in enumerate(EXHIBITION_SECTIONS, 1):
        items = _open_items(start, end, pick, 4)
        if not items:
            continue
        section = services.save_section(
            archivist,
            {"exhibition": exhibition, "title": title, "text": text, "sort_order": order * 10},
        )
        for n, item in enumerate(items, 1):
            services.add_exhibit(
                archivist,
                section,
                item,
                caption=_("%(y)d年，%(f)s：%(t)s。")
                % {"y": item.year, "f": item.fonds.name, "t": item.title},
                sort_order=n * 10,
            )
            exhibits += 1
    if not exhibits:
        raise Skip(_("馆藏中没有向公众开放的档案，无法布置展览"))
    services.set_published(archivist, exhibition, True)
    for _n in range(pick.randrange(120, 260)):
        services.count_view(exhibition)
    # In preparation: not on the portal until published.
    draft = services.save_exhibition(
        archivist,
        {
            "title": _("光辉历程——兰台区建区七十周年档案文献展（筹备中）"),
            "summary": _("征集中的家庭档案与馆藏档案联合展出。"),
            "venue": _("兰台区档案馆二楼展厅"),
        },
    )
    services.save_section(
        archivist, {"exhibition": draft, "title": _("一、家庭档案里的兰台"), "sort_order": 10}
    )
    return {"exhibitions": 2, "exhibits": exhibits}, draft


def _call(archivist, exhibition: Exhibition) -> dict[str, int]:
    """A published call for material for the exhibition in preparation, tied to the accession
    app's campaign when there is one, and two offers from the public."""
    from lantai.accession.models import AcquisitionCampaign

    now = today()
    campaign = AcquisitionCampaign.objects.filter(active=True).order_by("-start_date", "pk").first()
    title = campaign.title if campaign else _("兰台区历史记忆档案征集")
    call = services.save_call(
        archivist,
        {
            "title": _("%(t)s公告") % {"t": title},
            "text": _(
                "为丰富馆藏、留存城市记忆，兰台区档案馆面向社会征集反映老城区历史变迁的照片、"
                "证书、奖状、票证、日记、书信等档案资料。捐赠者将获颁收藏证书，也可寄存或"
                "提供复制件。联系电话：0391-3222666。"
            ),
            "exhibition": exhibition,
            "campaign": campaign,
            "deadline": now + timedelta(days=60),
        },
    )
    services.set_published(archivist, call, True)
    photo = SimpleUploadedFile("奖状.png", _png("offer"), content_type="image/png")
    services.submit_offer(
        call,
        {
            "name": "唐秀英",
            "contact": mobile("唐秀英"),
            "description": _(
                "我父亲1978年获得的兰台纺织厂“先进生产者”奖状一张，另有当年车间合影两张。"
            ),
        },
        [photo],
    )
    offer = services.submit_offer(
        call,
        {
            "name": "邓永生",
            "contact": mobile("邓永生"),
            "description": _(
                "1980年代花园街老供销社的商品票证一套（粮票、布票、购货证）共四十余枚。"
            ),
        },
        [],
    )
    services.triage_offer(
        archivist,
        offer,
        OfferStatus.ACCEPTED,
        _("拟征集：与征集主题相符，已约定下周上门鉴定。"),
    )
    return {"calls": 1, "offers": 2}


# --- compilation ---------------------------------------------------------------------------------


def _compilation(archivist, team, pick) -> dict[str, int]:
    now = today()
    staff_items = visible_items(archivist).filter(volume__isnull=True).exclude(reference_code="")
    chronicle = services.save_project(
        archivist,
        {
            "title": _("《兰台区大事记（1949—2019）》编纂"),
            "description": _("依据馆藏文书档案，按年月日编纂全区大事记，预计2年完成。"),
            "status": CompilationStatus.ACTIVE,
            "start_date": date(now.year, 3, 1) if now >= date(now.year, 3, 1) else now,
            "team": team,
        },
    )
    pool = list(
        staff_items.filter(category__code="WS", fonds__code__in=("Z001", "Z002"))
        .filter(Q(title__contains="会议") | Q(title__contains="决定") | Q(title__contains="要点"))
        .order_by("reference_code")[:200]
    )
    pick.shuffle(pool)
    sources = 0
    for item in sorted(pool[:8], key=lambda i: i.reference_code):
        services.add_source(archivist, chronicle, item, _("%(y)d年大事条目依据") % {"y": item.year})
        sources += 1
    album = services.save_project(
        archivist,
        {
            "title": _("《兰台记忆》档案文献图册"),
            "description": _("配合“兰台记忆”展览，选编馆藏照片和文件200余件。"),
            "status": CompilationStatus.DONE,
            "start_date": date(now.year - 1, 9, 1),
            "team": team,
        },
    )
    for item in _open_items(1950, now.year, pick, 4):
        services.add_source(archivist, album, item, _("入选图册"))
        sources += 1
    services.save_publication(
        archivist,
        {
            "project": album,
            "title": _("兰台记忆：兰台区档案馆馆藏档案文献图册"),
            "kind": PublicationKind.BOOK,
            "isbn": _isbn13("978750107" + f"{pick.randrange(0, 1000):03d}"),
            "year": now.year,
        },
    )
    return {"projects": 2, "sources": sources, "publications": 1}


# --- oral history --------------------------------------------------------------------------------


def _oral_history(archivist, interviewer_name: str) -> dict[str, int]:
    now = today()
    fonds = Fonds.objects.filter(code="Z023").first() or Fonds.objects.order_by("code").first()
    if fonds is None:
        raise Skip(_("没有全宗，无法建立口述项目"))
    series = Series.objects.filter(fonds=fonds, name="口述档案").first()
    project = services.save_oh_project(
        archivist,
        {
            "title": _("兰台纺织厂口述史"),
            "description": _("采访兰台纺织厂老职工，记录1956—1998年企业发展和职工生活。"),
            "fonds": fonds,
            "series": series,
        },
    )
    name = "刘桂兰"
    interviewee = services.save_interviewee(
        archivist,
        {
            "project": project,
            "name": name,
            "birth_year": 1938,
            "bio": _("1956年进厂的第一代挡车工，1983年被评为省劳动模范，1993年退休。"),
            "contact": _("城关街道纺织厂家属院，%(p)s") % {"p": mobile(name)},
        },
    )
    consent = SimpleUploadedFile(
        "口述档案授权书.pdf",
        pdf(
            _("口述档案采集授权书"),
            [
                _("受访人：刘桂兰    采访人：%(i)s") % {"i": interviewer_name},
                _("本人同意兰台区档案馆保存、整理本次访谈的录音和文字稿，"),
                _("自访谈之日起两年内仅供馆内查阅，期满后可用于展览和出版。"),
                _("受访人签名：刘桂兰"),
            ],
        ),
        content_type="application/pdf",
    )
    interview = services.save_interview(
        archivist,
        {
            "project": project,
            "interviewee": interviewee,
            "title": _("刘桂兰口述：兰台纺织厂的建厂岁月"),
            "date": now - timedelta(days=40),
            "place": _("受访者家中"),
            "interviewer": interviewer_name,
            "duration": 3720,
            "rights": _("著作权归受访人与兰台区档案馆共有；录音和文字稿由兰台区档案馆永久保存。"),
            "embargo_until": now - timedelta(days=40) + timedelta(days=730),
            "permitted_uses": _("馆内查阅；期满后可用于展览、出版"),
        },
        consent=consent,
    )
    services.add_media(
        archivist,
        interview,
        SimpleUploadedFile("访谈录音（节选）.wav", _wav(), content_type="audio/wav"),
    )
    segments = services.import_transcript(archivist, interview, TRANSCRIPT, "vtt")
    # The 口述档案 item, with the recording and the searchable transcript (indexed after
    # commit); under its embargo it stays 控制使用.
    services.create_item(archivist, interview)
    return {"interviews": 1, "transcript_segments": segments, "oral_items": 1}


def seed() -> tuple[str, str, dict[str, int]]:
    """Load the outreach demo (see the module docstring); ``already`` when any slot,
    exhibition or oral-history project exists."""
    from lantai.outreach.models import OralHistoryProject

    if (
        VisitSlot.objects.exists()
        or Exhibition.objects.exists()
        or OralHistoryProject.objects.exists()
    ):
        return ALREADY, _("已有参观时段、展览或口述项目"), {}
    (archivist,) = need_users("archivist")
    chen = colleague("chenjing", "陈静", Role.ARCHIVIST)
    pick = rng("outreach")
    counts: dict[str, int] = {}
    counts.update(_visits(archivist, pick))
    shown, in_preparation = _exhibitions(archivist, pick)
    counts.update(shown)
    counts.update(_call(archivist, in_preparation))
    counts.update(_compilation(archivist, [archivist, chen], pick))
    counts.update(_oral_history(archivist, chen.real_name or chen.username))
    return DONE, "", counts
