"""Demo 演示数据 for the opening review 开放鉴定, made through ``opening.services`` (so every
decision is audited and the approval writes holdings through ``holdings.services``):

- 已审批: the 民政局's records that reached their 25 years, reviewed by a colleague (陈静),
  with the unit's opinion, approved by the demo archivist: most opened, internal papers kept
  控制使用, one deferred (延期开放) with its reason;
- 待审批: a school's batch reviewed by 陈静 and submitted, with one record opened early
  (提前开放) — the demo archivist may approve it (he did not review it);
- 鉴定中: due records (the district government office's first), opened by the demo archivist,
  about a third decided, the rest waiting; the office disagrees with part of it (有不同意见).
"""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from lantai.accounts.roles import Role
from lantai.holdings.demo.support import ALREADY, DONE, Skip, colleague, demo_user, need_users
from lantai.holdings.models import Classification, Item, Openness
from lantai.opening import services
from lantai.opening.models import BatchStatus, Decision, ReviewBatch, ReviewEntry

APPROVED_FONDS = "Z008"  # 兰台区民政局
SUBMITTED_FONDS = "X001"  # 兰台区第一中学
DRAFT_FONDS = "Z002"  # 兰台区人民政府办公室
#: A colleague archivist: reviews what the demo archivist approves, and the reverse.
COLLEAGUE = ("chenjing", "陈静")


def _pick(queryset: QuerySet, fonds: str, count: int) -> list[int]:
    """Up to ``count`` ids of ``queryset``, from ``fonds`` first, then from any fonds (a small
    demo has few due records per fonds); oldest first, as a reviewer works through them."""
    ordered = ("year", "reference_code", "pk")
    ids = list(
        queryset.filter(fonds__code=fonds).order_by(*ordered).values_list("pk", flat=True)[:count]
    )
    if len(ids) < count:
        ids += list(
            queryset.exclude(pk__in=ids)
            .order_by(*ordered)
            .values_list("pk", flat=True)[: count - len(ids)]
        )
    return ids


def _decide_by_classification(actor, batch: ReviewBatch, defer_one: bool) -> None:
    """Open the public records, keep internal ones 控制使用, defer one (if asked): one
    ``decide`` call per decision, as a reviewer ticks several rows at once."""
    entries = list(
        batch.entries.filter(decision="").select_related("item", "volume").order_by("pk")
    )
    internal, public = [], []
    for entry in entries:
        record = entry.item or entry.volume
        level = getattr(record, "classification", Classification.PUBLIC)
        (public if level == Classification.PUBLIC else internal).append(entry.pk)
    if defer_one and len(public) > 1:
        services.decide(
            actor,
            batch,
            [public.pop()],
            Decision.DEFER,
            defer_until=batch.review_year + 5,
            reason=_("涉及尚未办结的历史遗留土地权属问题，形成单位建议延期五年开放。"),
        )
    if internal:
        services.decide(
            actor,
            batch,
            internal,
            Decision.RESTRICT,
            reason=_("密级为内部，内容涉及个人信息和救济款物分配名单，不宜向社会开放。"),
        )
    if public:
        services.decide(actor, batch, public, Decision.OPEN)


def seed() -> tuple[str, str, dict[str, int]]:
    """Load the three demo batches (see the module docstring); ``already`` when any batch exists."""
    if ReviewBatch.objects.exists():
        return ALREADY, _("已有鉴定批次"), {}
    (archivist,) = need_users("archivist")
    officer = demo_user("unit_officer")
    chen = colleague(*COLLEAGUE, Role.ARCHIVIST)
    year = services.this_year()

    # Livelihood records (婚姻登记 …) are personal: the demo does not open them.
    def due_items():
        return services.due_items(archivist, year).exclude(category__livelihood=True)

    def due_volumes(thin: bool = False):
        volumes = services.due_volumes(archivist, year).exclude(category__livelihood=True)
        # Approval writes each 卷内文件 too: the approved batch takes thin volumes.
        return volumes.annotate(n=Count("items")).filter(n__lte=15) if thin else volumes

    def select(fonds: str, count: int, *, thin: bool = False, volumes: int = 1):
        """Due items of ``fonds`` first, plus ``volumes`` volumes (only volumes when no item
        is due: a small demo's old records are all in volumes)."""
        items = _pick(due_items(), fonds, count)
        return items, _pick(due_volumes(thin), fonds, volumes if items else count)

    total = due_items().count() + due_volumes().count()
    if not total:
        raise Skip(_("没有到期应鉴定的档案"))
    # A small demo has few due records: share them, the approved batch first.
    sizes = {"approved": min(12, max(1, total // 3)), "submitted": min(8, total // 4)}
    sizes["draft"] = min(30, total - sizes["approved"] - sizes["submitted"])

    # 已审批 —— reviewed by the colleague, opinion of the unit, approved by the demo archivist.
    item_ids, volume_ids = select(APPROVED_FONDS, sizes["approved"], thin=True)
    if not item_ids and not volume_ids:
        raise Skip(_("没有到期应鉴定的档案"))
    approved = services.create_batch(
        chen,
        review_year=year,
        title=_("%(y)d年度到期档案开放鉴定（第一批）") % {"y": year},
        item_ids=item_ids,
        volume_ids=volume_ids,
    )
    _decide_by_classification(chen, approved, defer_one=True)
    units = {row["unit"].pk: row["unit"] for row in services.batch_units(approved)}
    for unit in units.values():
        if officer is not None and officer.unit_id == unit.pk:
            services.record_opinion(
                officer, approved, kind="agree", text=_("同意档案馆的鉴定意见。")
            )
        else:
            # An opinion received on paper, entered by the reviewer for that unit.
            services.record_opinion(
                chen, approved, kind="agree", text=_("书面意见：同意鉴定意见。"), unit=unit
            )
    services.submit(chen, approved)
    services.approve(archivist, approved, note=_("同意。开放档案于本月起在公众服务门户提供查阅。"))

    # 待审批 —— a school's records, one opened before its term (提前开放) with the reason.
    submitted_ids, submitted_volumes = select(SUBMITTED_FONDS, sizes["submitted"], volumes=0)
    early = (
        Item.objects.filter(
            fonds__code=SUBMITTED_FONDS,
            category__code="WS",
            volume__isnull=True,
            openness=Openness.UNREVIEWED,
            classification=Classification.PUBLIC,
            year__gt=year - 25,
        )
        .exclude(pk__in=ReviewEntry.objects.filter(item__isnull=False).values("item_id"))
        .order_by("year", "reference_code")
        .values_list("pk", flat=True)
        .first()
    )
    counts = {"review_batches": 1}
    if submitted_ids or submitted_volumes:
        batch = services.create_batch(
            chen,
            review_year=year,
            title=_("%(y)d年度到期档案开放鉴定（第二批）") % {"y": year},
            item_ids=submitted_ids + ([early] if early else []),
            volume_ids=submitted_volumes,
        )
        if early:
            entry = batch.entries.get(item_id=early)
            services.decide(
                chen,
                batch,
                [entry.pk],
                Decision.OPEN,
                reason=_(
                    "属教育类档案，内容不涉及国家秘密和个人隐私，依《档案法》第二十七条提前开放。"
                ),
            )
        _decide_by_classification(chen, batch, defer_one=False)
        services.submit(chen, batch)
        counts["review_batches"] += 1

    # 鉴定中 —— the demo archivist's own batch, about a third decided.
    draft_ids, draft_volumes = select(DRAFT_FONDS, sizes["draft"], volumes=3)
    if draft_ids or draft_volumes:
        batch = services.create_batch(
            archivist,
            review_year=year,
            title=_("%(y)d年度到期档案开放鉴定（第三批）") % {"y": year},
            item_ids=draft_ids,
            volume_ids=draft_volumes,
        )
        entries = list(batch.entries.order_by("pk").values_list("pk", flat=True))
        decided = entries[: max(1, len(entries) // 3)]
        services.decide(archivist, batch, decided[:-1] or decided, Decision.OPEN)
        if len(decided) > 1:
            services.decide(
                archivist,
                batch,
                decided[-1:],
                Decision.RESTRICT,
                reason=_("涉及征地拆迁补偿对象名单，控制使用。"),
            )
        first_unit = services.batch_units(batch)[0]["unit"]
        services.record_opinion(
            archivist,
            batch,
            kind="object",
            text=_("书面意见：其中涉及征地拆迁补偿的文件建议暂缓开放，其余同意。"),
            unit=first_unit,
        )
        counts["review_batches"] += 1

    counts["review_entries"] = ReviewEntry.objects.count()
    counts["review_opened"] = ReviewEntry.objects.filter(
        batch__status=BatchStatus.APPROVED, decision=Decision.OPEN
    ).count()
    return DONE, "", counts
