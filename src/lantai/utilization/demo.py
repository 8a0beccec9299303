"""Demo 演示数据 for use requests 档案利用: a queue with a request in every state, filed and moved
on through ``utilization.services`` (so numbers, working-day due dates, the request history and
the audit trail are those of real requests).

- 待受理: 王公众 (the demo citizen) asks online to read 兰台纺织厂 records for a local history;
- 已受理: a walk-in citizen asks for a certificate of her own marriage registration, a record
  the public may not see, which staff approved for her alone (特批);
- 已审核: the district gazetteer office reads the district government's 1950s–60s records;
- 已提供: an agency's staff member came to read files (到馆查阅), not yet closed;
- 已办结: 王公众's certificate 档案证明 of his employment record, issued with a verification
  code that checks out on the public verify page (the code is shown once, with the tokens);
- 已退回: a request for records this archive does not hold, returned with the reason.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _

from lantai.holdings.demo.support import (
    ALREADY,
    DONE,
    Skip,
    id_number,
    mobile,
    need_users,
    rng,
)
from lantai.holdings.models import Item
from lantai.holdings.services import visible_items
from lantai.utilization import services
from lantai.utilization.models import OPEN_STATUSES, Delivery, Purpose, UseRequest

#: The unit whose open records the demo citizen asks about, and for his certificate.
FACTORY_FONDS = "Q001"  # 兰台纺织厂
GOVERNMENT_FONDS = "Z002"  # 兰台区人民政府办公室
CIVIL_AFFAIRS_FONDS = "Z008"  # 兰台区民政局 (婚姻登记)


def _open_codes(fonds: str, count: int, picker, *, words: tuple[str, ...] = ()) -> list[str]:
    """``count`` 档号 of open, public standalone items of ``fonds`` chosen by ``picker``: titles
    with one of ``words`` first, then documents (文书), then the rest; any open items when the
    fonds has none."""
    public = visible_items(AnonymousUser()).filter(volume__isnull=True).exclude(reference_code="")
    fields = ("reference_code", "title", "category__code")
    pool = list(
        public.filter(fonds__code=fonds).order_by("reference_code").values_list(*fields)[:400]
    )
    if not pool:
        pool = list(public.order_by("reference_code").values_list(*fields)[:400])
    picker.shuffle(pool)

    def rank(row: tuple[str, str, str]) -> int:
        if any(word in row[1] for word in words):
            return 0
        return 1 if row[2] == "WS" else 2

    return [row[0] for row in sorted(pool, key=rank)[:count]]


def _marriage_record() -> tuple[Item, str, str, int] | None:
    """A 婚姻登记 record carrying the bride's ID number: (item, her name, number, birth year)."""
    items = Item.objects.filter(
        category__code="HY", fonds__code=CIVIL_AFFAIRS_FONDS, year__gte=1985
    ).order_by("reference_code")
    for item in items[:200]:
        extra = item.extra if isinstance(item.extra, dict) else {}
        if extra.get("女方") and extra.get("女方身份证号") and extra.get("女方出生年份"):
            return item, extra["女方"], extra["女方身份证号"], int(extra["女方出生年份"])
    return None


def seed() -> tuple[str, str, dict[str, int], list[tuple[str, str, str]]]:
    """Load the demo's use requests (see the module docstring); ``already`` when there are any."""
    if UseRequest.objects.exists():
        return ALREADY, _("已有利用申请"), {}, []
    archivist, citizen = need_users("archivist", "public")
    if not Purpose.objects.exists():
        services.ensure_purposes()  # the purposes the requests below name
    pick = rng("utilization")
    secrets: list[tuple[str, str, str]] = []
    # Chosen first: without an open record there is no certificate to show, so nothing is made.
    certificate_codes = _open_codes(FACTORY_FONDS, 1, pick, words=("招", "职工", "工人", "劳动"))
    if not certificate_codes:
        raise Skip(_("馆藏中没有开放档案，无法出具演示档案证明"))

    # 待受理: the demo citizen's own application, online.
    services.submit_request(
        citizen,
        purpose="research",
        delivery_wanted=Delivery.READING,
        description=_(
            "撰写《兰台纺织工业六十年》书稿，需查阅兰台纺织厂1980年代的生产经营和职工管理档案。"
        ),
        reference_codes=_open_codes(FACTORY_FONDS, 2, pick, words=("生产", "职工", "工人")),
    )

    # 已受理: a walk-in asks for proof of her own marriage; her record is not open to the
    # public, so staff approve it for her alone (特批) before anything can be issued.
    marriage = _marriage_record()
    if marriage is not None:
        item, bride, bride_id, _born = marriage
        year, codes = item.year, [item.reference_code]
    else:  # a small demo without such a record: she describes it instead
        bride, year, codes = "田秀英", 1986, []
        bride_id = id_number(bride, 1962, "女")
    req = services.submit_request(
        archivist,
        purpose="verify",
        delivery_wanted=Delivery.CERTIFICATE,
        description=_("办理不动产继承公证，需出具本人%(y)d年结婚登记证明。") % {"y": year},
        reference_codes=codes,
        walk_in={"name": bride, "id_number": bride_id, "phone": mobile(bride)},
    )
    req = services.transition(archivist, req, "accept", note=_("已核验居民身份证原件"))
    if codes:
        services.approve_item(
            archivist,
            req.items.get(),
            _("申请人为该婚姻登记的当事人本人，已核验居民身份证，同意向本人提供。"),
        )

    # 已审核: the gazetteer office reads the district government's early records.
    historian = "孙志远"
    req = services.submit_request(
        archivist,
        purpose="history",
        delivery_wanted=Delivery.READING,
        description=_(
            "区地方志编纂委员会办公室续修《兰台区志》，查阅区政府早期会议纪要和工作计划。"
        ),
        reference_codes=_open_codes(GOVERNMENT_FONDS, 3, pick, words=("纪要", "计划", "要点")),
        walk_in={
            "name": historian,
            "id_number": id_number(historian, 1968, "男"),
            "phone": mobile(historian),
        },
    )
    req = services.transition(archivist, req, "accept")
    services.transition(archivist, req, "approve", note=_("所列档案均已开放，同意到馆查阅。"))

    # 已提供: an agency's staff member read the files in the reading room; not closed yet.
    clerk = "周卫东"
    req = services.submit_request(
        archivist,
        purpose="work",
        delivery_wanted=Delivery.READING,
        description=_("区住房和城乡建设局核对老城区道路改造的历史批复文件。"),
        reference_codes=_open_codes(GOVERNMENT_FONDS, 2, pick, words=("建设", "城市", "道路")),
        walk_in={"name": clerk, "id_number": id_number(clerk, 1975, "男"), "phone": mobile(clerk)},
    )
    req = services.transition(archivist, req, "accept")
    req = services.transition(archivist, req, "approve")
    services.transition(archivist, req, "provide", note=_("已在阅览室提供原件查阅。"))

    # 已办结: the demo citizen's certificate of his employment record, verifiable online.
    req = services.submit_request(
        citizen,
        purpose="verify",
        delivery_wanted=Delivery.CERTIFICATE,
        description=_("办理退休手续，需证明本人1988年起在兰台纺织厂工作的工龄。"),
        reference_codes=certificate_codes,
    )
    req = services.transition(archivist, req, "accept")
    req = services.transition(archivist, req, "approve")
    requested = req.items.select_related("item").get()
    _cert, code = services.issue_certificate(
        archivist,
        requested,
        _(
            "经查，本馆保存的档案《%(title)s》（档号 %(code)s）中载有申请人%(name)s于1988年3月"
            "经招工录用为兰台纺织厂合同制工人、1998年随企业改制解除劳动关系的记录。特此证明。"
        )
        % {
            "title": requested.item.title,
            "code": requested.reference_code,
            "name": req.applicant_name,
        },
    )
    req = services.transition(archivist, req, "provide")
    services.transition(archivist, req, "close", note=_("申请人已在网上下载档案证明。"))
    # The code is kept only as a hash: shown once, like the tokens, so the verify page can be
    # tried (it is also printed on the certificate PDF).
    secrets.append((_("档案证明验证码"), f"{req.number} {req.applicant_name}", code))

    # 已退回: not this archive's records.
    owner = "何素芳"
    req = services.submit_request(
        archivist,
        purpose="verify",
        delivery_wanted=Delivery.CERTIFICATE,
        description=_("查询本人1995年购买城关镇人民路私房时的契税缴纳凭证。"),
        walk_in={"name": owner, "id_number": id_number(owner, 1958, "女"), "phone": mobile(owner)},
    )
    services.transition(
        archivist,
        req,
        "return",
        note=_(
            "房屋契税凭证由区税务局和区不动产登记中心保管，不属本馆馆藏；已告知申请人前往查询。"
        ),
    )

    counts = {
        "use_requests": UseRequest.objects.count(),
        "use_open": UseRequest.objects.filter(status__in=OPEN_STATUSES).count(),
        "certificates": 1,
    }
    return DONE, "", counts, secrets
