"""The demo load 演示数据加载: a realistic district archive, fast enough for a million items.

How it stays fast and small:

- a *plan* first splits the requested number of items over categories, fonds and years
  (largest-remainder rounding, so the total is exact and every category gets items);
- then each (fonds, category, year) cell is generated, numbered in memory and written with
  ``bulk_create`` in batches; only one cell and one batch are in memory at a time;
- 档号 are composed with ``refcode.compose`` from each fonds' scheme, numbers are allocated in
  memory per numbering scope (the same scopes ``holdings.services`` uses) and the
  ``NumberSequence`` rows are set to the highest number at the end;
- ONE audit entry summarises the load (accounts are created through ``accounts.services`` and
  audited one by one).

The whole load is one transaction: a crash or Ctrl-C leaves nothing behind (it is not
resumable; run it again). On SQLite, ``synchronous`` is relaxed and the page cache enlarged for
the duration of the load only.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction
from django.utils.translation import gettext as _

from lantai.accounts.roles import Role
from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.holdings import refcode
from lantai.holdings.demo import data
from lantai.holdings.demo.texts import Context, ItemText, Kind, VolumeText, kind_for
from lantai.holdings.models import (
    Category,
    Classification,
    Fonds,
    FondsName,
    Item,
    NumberSequence,
    Openness,
    ReferenceScheme,
    Series,
    Unit,
    Volume,
)

log = logging.getLogger(__name__)

DEFAULT_ITEMS = 50_000
DEFAULT_SEED = 20_250_630
BATCH_SIZE = 5_000

#: The fonds whose 档号 follow the DA/T 13-2022 style ("·" inside the level, 机构 last), to
#: show that the template is configured per fonds.
DAT13_FONDS = "Z023"
DAT13_TEMPLATE = "{fonds}-{category}·{year}·{retention}·{series}-{item}"


class DemoError(Exception):
    """The demo cannot load (for example: holdings already exist)."""


# --- results ---------------------------------------------------------------------------------


@dataclass
class DemoUser:
    role: str
    username: str
    password: str  # "" when the account already existed (its password is left alone)
    real_name: str
    created: bool


@dataclass
class DemoResult:
    seed: int
    skipped: bool = False
    units: int = 0
    fonds: int = 0
    series: int = 0
    volumes: int = 0
    items: int = 0
    items_standalone: int = 0
    items_in_volumes: int = 0
    categories: dict[str, int] = field(default_factory=dict)  # code → items
    users: list[DemoUser] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def holdings_count(self) -> int:
        """卷(件): each volume once, each standalone item once."""
        return self.volumes + self.items_standalone


def holdings_exist() -> bool:
    """True when the archive already holds anything (units, fonds, volumes or items)."""
    return (
        Item.objects.exists()
        or Volume.objects.exists()
        or Fonds.objects.exists()
        or Unit.objects.exists()
    )


# --- the plan: how many items each (fonds, category, year) gets --------------------------------


def apportion(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Split ``total`` over ``weights`` by largest remainder; each share at least ``minimum``
    when the total allows it. Deterministic: ties go to the earlier weight."""
    n = len(weights)
    if n == 0 or total <= 0:
        return [0] * n
    base = [minimum] * n if minimum and total >= minimum * n else [0] * n
    rest = total - sum(base)
    weight_sum = float(sum(weights))
    if weight_sum <= 0:
        weights, weight_sum = [1.0] * n, float(n)
    exact = [rest * w / weight_sum for w in weights]
    shares = [int(x) for x in exact]
    left = rest - sum(shares)
    order = sorted(range(n), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    return [b + s for b, s in zip(base, shares, strict=True)]


@dataclass(frozen=True)
class Cell:
    spec_index: int
    category: Category
    year: int
    count: int


def _year_weight(year: int) -> float:
    # Records grow with the administration: a year in the 2010s holds several times a 1950s one.
    weight = 1.0 + (year - data.FIRST_YEAR) / 12.0
    return weight / 2 if year == data.LAST_YEAR else weight  # the current year is half done


def _years(spec: data.UnitSpec, code: str) -> list[int]:
    start, end = spec.start, spec.end or data.LAST_YEAR
    low, high = data.CATEGORY_YEARS.get(code, (data.FIRST_YEAR, None))
    years = list(range(max(start, low), min(end, high or data.LAST_YEAR) + 1))
    return years or list(range(start, end + 1))


def _homes(categories: list[Category]) -> dict[str, list[tuple[int, float]]]:
    """Category code → [(unit index, share of the archive)] for every seeded category."""
    by_fonds = {spec.fonds_code: i for i, spec in enumerate(data.UNITS)}
    wanted: list[dict[str, float]] = [{} for _ in data.UNITS]
    listed = {code for spec in data.UNITS for code in spec.categories}
    codes = {c.code for c in categories}
    for i, spec in enumerate(data.UNITS):
        for code, weight in spec.categories.items():
            if code in codes:
                wanted[i][code] = weight
    for category in categories:
        if category.code in listed:
            continue
        homes = [(by_fonds[f], w) for word, f, w in data.CATEGORY_HOMES if word in category.name]
        if not homes:
            homes = [(by_fonds[data.FALLBACK_FONDS], 5.0)]
        for i, weight in homes:
            wanted[i][category.code] = max(wanted[i].get(category.code, 0.0), weight)
    result: dict[str, list[tuple[int, float]]] = {c.code: [] for c in categories}
    for i, spec in enumerate(data.UNITS):
        total = sum(wanted[i].values())
        for code, weight in wanted[i].items():
            result[code].append((i, spec.weight * weight / total))
    return result


def plan(total: int, categories: list[Category]) -> list[Cell]:
    """Cells in load order (fonds, category, year), their counts adding up to ``total``."""
    homes = _homes(categories)
    per_category = apportion(
        total, [sum(w for _, w in homes[c.code]) for c in categories], minimum=1
    )
    cells: list[Cell] = []
    for category, count in zip(categories, per_category, strict=True):
        units = homes[category.code]
        for (i, _w), unit_count in zip(
            units, apportion(count, [w for _i, w in units]), strict=True
        ):
            if not unit_count:
                continue
            years = _years(data.UNITS[i], category.code)
            for year, n in zip(
                years, apportion(unit_count, [_year_weight(y) for y in years]), strict=True
            ):
                if n:
                    cells.append(Cell(i, category, year, n))
    order = {c.pk: n for n, c in enumerate(categories)}
    cells.sort(key=lambda c: (data.UNITS[c.spec_index].fonds_code, order[c.category.pk], c.year))
    return cells


# --- description choices that depend on category and age ----------------------------------------


def _retention(rng: random.Random, code: str, year: int) -> str:
    if code in data.PERMANENT_CATEGORIES:
        return "Y"
    if code == "YL":
        return "D30"
    legacy = year < data.NEW_RETENTION_FROM
    codes = ("Y", "C", "D") if legacy else ("Y", "D30", "D10")
    weights = (10, 60, 30) if code == "KU" else (35, 40, 25)
    return rng.choices(codes, weights)[0]


def _openness(rng: random.Random, category: Category, year: int) -> str:
    code = category.code
    if category.livelihood or code == "RS":
        # Personal records: served to the person concerned, not opened to all.
        return Openness.RESTRICTED if rng.random() < 0.85 else Openness.UNREVIEWED
    if code == "KS":
        return rng.choices((Openness.OPEN, Openness.RESTRICTED, Openness.UNREVIEWED), (45, 25, 30))[
            0
        ]
    if data.LAST_YEAR - year >= category.opening_years:
        return rng.choices((Openness.OPEN, Openness.RESTRICTED, Openness.UNREVIEWED), (70, 18, 12))[
            0
        ]
    # Younger than the opening period: mostly not reviewed yet, some opened early.
    return rng.choices((Openness.UNREVIEWED, Openness.OPEN, Openness.RESTRICTED), (72, 20, 8))[0]


def _classification(rng: random.Random, category: Category, year: int) -> str:
    if category.code == "WS" and year < 1990 and rng.random() < 0.002:
        return Classification.SECRET  # old 秘密 documents awaiting declassification review
    internal = 0.8 if (category.livelihood or category.code in ("RS", "KU")) else 0.35
    return Classification.INTERNAL if rng.random() < internal else Classification.PUBLIC


def _carrier(rng: random.Random, code: str, year: int) -> str:
    fixed = data.CATEGORY_CARRIER.get(code)
    if fixed:
        return fixed
    if year < 1999:
        return "paper"
    if year < 2013:
        return rng.choices(("paper", "hybrid", "electronic"), (60, 35, 5))[0]
    if year < 2019:
        return rng.choices(("paper", "hybrid", "electronic"), (30, 45, 25))[0]
    return rng.choices(("paper", "hybrid", "electronic"), (10, 40, 50))[0]


# --- the loader ----------------------------------------------------------------------------


@dataclass
class _Draft:
    series: int  # index into the fonds' series list
    retention: str
    text: ItemText
    day: date


class Loader:
    """One demo load. Use ``load_demo``; the class only keeps the load's state together."""

    def __init__(self, items: int, seed: int, batch_size: int, tick: Callable[[int], None]):
        self.total = items
        self.seed = seed
        self.batch_size = batch_size
        self.tick = tick
        # Reproducible demo data, not secrets (passwords come from ``secrets``).
        self.rng = random.Random(seed)  # noqa: S311
        self.ctx = Context(self.rng, counters={})
        self.result = DemoResult(seed=seed)
        self.units: list[Unit] = []
        self.fonds: list[Fonds] = []
        self.series: list[list[Series]] = []
        self.sequences: dict[str, int] = {}  # numbering scope → highest number handed out
        self.pending_volumes: list[Volume] = []
        self.pending_items: list[Item] = []
        self.schemes: dict[tuple[int, int], ReferenceScheme] = {}

    # -- code tables ------------------------------------------------------------------------

    def create_code_tables(self) -> None:
        rng = self.rng
        by_code: dict[str, Unit] = {}
        for wave in (False, True):  # parents first, so children can point at them
            batch = []
            for spec in data.UNITS:
                if (spec.parent is not None) != wave:
                    continue
                contact, _s, _b = self.ctx.person(born=rng.randint(1965, 1995))
                batch.append(
                    Unit(
                        code=spec.unit_code,
                        name=spec.name,
                        kind=spec.kind,
                        parent=by_code.get(spec.parent) if spec.parent else None,
                        contact=contact,
                        phone=f"0000-{rng.randint(60000000, 69999999)}",  # fictitious number
                        address=spec.address
                        or f"{data.DISTRICT}{self.ctx.pick(data.STREETS)}{rng.randint(1, 300)}号",
                        active=spec.end is None,
                    )
                )
            for unit in Unit.objects.bulk_create(batch):
                by_code[unit.code] = unit
        self.units = [by_code[spec.unit_code] for spec in data.UNITS]
        fonds = [
            Fonds(
                code=spec.fonds_code,
                name=spec.name,
                unit=unit,
                start_year=spec.start,
                end_year=spec.end,
                description=self._fonds_description(spec),
            )
            for spec, unit in zip(data.UNITS, self.units, strict=True)
        ]
        self.fonds = Fonds.objects.bulk_create(fonds)
        FondsName.objects.bulk_create(
            FondsName(fonds=f, name=p.name, start_year=p.start, end_year=p.end, note=p.note)
            for spec, f in zip(data.UNITS, self.fonds, strict=True)
            for p in spec.names
        )
        series = Series.objects.bulk_create(
            Series(fonds=f, code=code, name=name)
            for spec, f in zip(data.UNITS, self.fonds, strict=True)
            for code, name in spec.series
        )
        by_fonds: dict[int, list[Series]] = {}
        for s in series:
            by_fonds.setdefault(s.fonds_id, []).append(s)
        self.series = [by_fonds[f.pk] for f in self.fonds]
        dat13 = next(f for f in self.fonds if f.code == DAT13_FONDS)
        ReferenceScheme.objects.create(
            fonds=dat13,
            item_template=DAT13_TEMPLATE,
            note=_("DA/T 13-2022 样式：年度、保管期限、机构(问题)以“·”连接"),
        )
        refcode.clear_scheme_cache()
        self.result.units = len(self.units)
        self.result.fonds = len(self.fonds)
        self.result.series = len(series)

    @staticmethod
    def _fonds_description(spec: data.UnitSpec) -> str:
        end = spec.end or _("至今")
        text = _("%(name)s全宗，%(start)s—%(end)s年。") % {
            "name": spec.name,
            "start": spec.start,
            "end": end,
        }
        if len(spec.names) > 1:
            history = "；".join(
                f"{p.start}—{p.end or _('至今')}年称{p.name}" + (f"（{p.note}）" if p.note else "")
                for p in spec.names
            )
            text += _("名称沿革：%(history)s。") % {"history": history}
        return text

    # -- cells ------------------------------------------------------------------------------

    def scheme(self, fonds: Fonds, category: Category) -> ReferenceScheme:
        key = (fonds.pk, category.pk)
        if key not in self.schemes:
            self.schemes[key] = refcode.scheme_for(fonds, category)
        return self.schemes[key]

    def _series_index(self, kind: Kind, spec_index: int) -> int:
        series = self.series[spec_index]
        if kind.series and self.rng.random() < 0.9:
            for i, s in enumerate(series):
                if s.code in kind.series:
                    return i
        # The office (first series) files the most.
        return self.rng.choices(range(len(series)), [3] + [1] * (len(series) - 1))[0]

    def _enter(self, cell: Cell, series_index: int) -> None:
        s = self.series[cell.spec_index][series_index]
        self.ctx.series_code, self.ctx.series_name = s.code, s.name

    def generate(self, cell: Cell) -> None:
        spec = data.UNITS[cell.spec_index]
        category = cell.category
        self.ctx.enter(spec, cell.year, category.code, category.name)
        kind = kind_for(category.code, category.name, category.livelihood)
        by_volume = category.arrangement == "volume" or (
            cell.year <= data.VOLUME_UNTIL and category.code not in data.ITEM_ONLY
        )
        if by_volume:
            self._generate_volumes(cell, kind)
        else:
            self._generate_items(cell, kind)
        self.result.categories[category.code] = (
            self.result.categories.get(category.code, 0) + cell.count
        )
        if len(self.pending_items) >= self.batch_size:
            self.flush()

    def _describe(self, target, cell: Cell, series_index: int, retention: str, text) -> None:
        """Fields shared by items and volumes."""
        # Plain ids, not instances: a million related-object assignments cost seconds.
        target.fonds_id = self.fonds[cell.spec_index].pk
        target.category_id = cell.category.pk
        target.series_id = self.series[cell.spec_index][series_index].pk
        target.unit_id = self.units[cell.spec_index].pk
        target.year = cell.year
        target.retention = retention
        target.title = text.title[:500]
        target.responsible = text.responsible[:200]

    def _scope(self, kind: str, template: str, cell: Cell, retention: str, series: Series) -> str:
        # The numbering scope exactly as holdings.services computes it, so later allocations
        # by the services continue where the demo stopped.
        from lantai.holdings.services import _scope

        values = {
            "fonds": self.fonds[cell.spec_index].pk,
            "category": cell.category.pk,
            "year": cell.year,
            "retention": retention,
            "series": series.pk,
            "catalog": "",
        }
        return _scope(kind, template, values)[0]

    def _generate_items(self, cell: Cell, kind: Kind) -> None:
        rng, ctx = self.rng, self.ctx
        drafts: list[_Draft] = []
        for _n in range(cell.count):
            series_index = self._series_index(kind, cell.spec_index)
            self._enter(cell, series_index)
            day = ctx.new_day()
            text = kind.item(ctx)
            retention = _retention(rng, cell.category.code, cell.year)
            drafts.append(_Draft(series_index, retention, text, text.day or day))
        # 件号 follow the order of formation within each numbering scope.
        drafts.sort(key=lambda d: (d.series, d.retention, d.day))
        fonds = self.fonds[cell.spec_index]
        scheme = self.scheme(fonds, cell.category)
        scopes: dict[tuple[int, str], str] = {}
        for draft in drafts:
            series = self.series[cell.spec_index][draft.series]
            key = (draft.series, draft.retention)
            if key not in scopes:
                scopes[key] = self._scope(
                    "item", scheme.item_template, cell, draft.retention, series
                )
            scope = scopes[key]
            number = self.sequences.get(scope, 0) + 1
            self.sequences[scope] = number
            item = Item(item_no=number, date=draft.day, volume=None)
            self._describe(item, cell, draft.series, draft.retention, draft.text)
            self._item_fields(item, draft.text, draft.day)
            item.openness = _openness(rng, cell.category, cell.year)
            item.classification = _classification(rng, cell.category, cell.year)
            if item.classification != Classification.PUBLIC and item.openness == Openness.OPEN:
                # An opening review opens only what is (or has been declassified to) 公开.
                item.openness = Openness.RESTRICTED
            item.carrier = _carrier(rng, cell.category.code, cell.year)
            item.reference_code = refcode.compose(
                scheme.item_template,
                refcode.RefParts(
                    fonds.code,
                    cell.category.code,
                    cell.year,
                    draft.retention,
                    series.code,
                    item=number,
                ),
                item_width=scheme.item_width,
                volume_width=scheme.volume_width,
            )
            self.pending_items.append(item)
        self.result.items_standalone += len(drafts)
        self.tick(len(drafts))

    @staticmethod
    def _item_fields(item: Item, text: ItemText, day: date) -> None:
        item.doc_number = text.doc_number[:100]
        item.extra = text.extra
        item.pages = text.pages
        item.keywords = text.keywords[:200]
        item.date = day
        item.date_start = day
        item.date_end = day

    def _generate_volumes(self, cell: Cell, kind: Kind) -> None:
        rng, ctx = self.rng, self.ctx
        low, high = kind.volume_size
        drafts: list[tuple[int, str, VolumeText, list[date]]] = []
        left = cell.count
        while left > 0:
            size = min(left, rng.randint(low, high))
            left -= size
            series_index = self._series_index(kind, cell.spec_index)
            self._enter(cell, series_index)
            days = sorted(ctx.new_day() for _ in range(size))
            text = kind.volume(ctx, days)
            # A writer may date its items itself (vouchers: the month's end).
            days = [t.day or d for t, d in zip(text.items, days, strict=True)]
            drafts.append(
                (series_index, _retention(rng, cell.category.code, cell.year), text, days)
            )
        drafts.sort(key=lambda d: (d[1], d[0], min(d[3])))
        fonds = self.fonds[cell.spec_index]
        scheme = self.scheme(fonds, cell.category)
        for series_index, retention, text, days in drafts:
            series = self.series[cell.spec_index][series_index]
            scope = self._scope("volume", scheme.volume_template, cell, retention, series)
            number = self.sequences.get(scope, 0) + 1
            self.sequences[scope] = number
            volume = Volume(volume_no=number, catalog_no="")
            self._describe(volume, cell, series_index, retention, text)
            volume.date_start, volume.date_end = min(days), max(days)
            volume.pages = sum(t.pages or 0 for t in text.items) or None
            # Volumes are reviewed and classified as a whole; their items follow.
            volume.openness = _openness(rng, cell.category, cell.year)
            volume.classification = _classification(rng, cell.category, cell.year)
            if volume.classification != Classification.PUBLIC and volume.openness == Openness.OPEN:
                volume.openness = Openness.RESTRICTED
            volume.carrier = _carrier(rng, cell.category.code, cell.year)
            parts = refcode.RefParts(
                fonds.code, cell.category.code, cell.year, retention, series.code, volume=number
            )
            volume.reference_code = refcode.compose(
                scheme.volume_template,
                parts,
                item_width=scheme.item_width,
                volume_width=scheme.volume_width,
            )
            self.pending_volumes.append(volume)
            for item_no, (item_text, day) in enumerate(zip(text.items, days, strict=True), 1):
                item = Item(item_no=item_no, volume=volume)
                self._describe(item, cell, series_index, retention, item_text)
                self._item_fields(item, item_text, day)
                item.openness = volume.openness
                item.classification = volume.classification
                item.carrier = volume.carrier
                item.reference_code = refcode.compose(
                    scheme.volume_item_template,
                    refcode.RefParts(
                        fonds.code,
                        cell.category.code,
                        cell.year,
                        retention,
                        series.code,
                        volume=number,
                        item=item_no,
                    ),
                    item_width=scheme.item_width,
                    volume_width=scheme.volume_width,
                )
                self.pending_items.append(item)
            self.result.volumes += 1
            self.result.items_in_volumes += len(text.items)
            self.tick(len(text.items))

    # -- writing ----------------------------------------------------------------------------

    def flush(self) -> None:
        if self.pending_volumes:
            # Volumes first: their ids (returned by the INSERT) go into their items.
            Volume.objects.bulk_create(self.pending_volumes, batch_size=self.batch_size)
        if self.pending_items:
            Item.objects.bulk_create(self.pending_items, batch_size=self.batch_size)
        self.pending_volumes = []
        self.pending_items = []

    def write_sequences(self) -> None:
        rows = [NumberSequence(scope=s, last=n) for s, n in self.sequences.items()]
        NumberSequence.objects.bulk_create(
            rows,
            batch_size=self.batch_size,
            update_conflicts=True,
            unique_fields=["scope"],
            update_fields=["last"],
        )

    def run(self) -> DemoResult:
        categories = list(Category.objects.order_by("sort_order", "code"))
        if not categories:
            raise DemoError(_("没有档案门类：请先运行 lantai migrate。"))
        self.create_code_tables()
        for cell in plan(self.total, categories):
            self.generate(cell)
        self.flush()
        self.write_sequences()
        self.result.items = self.result.items_standalone + self.result.items_in_volumes
        return self.result


# --- users ---------------------------------------------------------------------------------

#: (role, username, real name): one account per role; the unit officer belongs to 区民政局.
DEMO_USERS = (
    (Role.SYSADMIN, "sysadmin", "赵系统"),
    (Role.SECADMIN, "secadmin", "钱保密"),
    (Role.AUDITOR, "auditor", "孙审计"),
    (Role.ARCHIVIST, "archivist", "李馆员"),
    (Role.KEEPER, "keeper", "周库管"),
    (Role.SUPERVISOR, "supervisor", "吴指导"),
    (Role.UNIT_OFFICER, "unit_officer", "郑档案员"),
    (Role.PUBLIC, "public", "王公众"),
)
UNIT_OFFICER_UNIT = "DW008"  # 区民政局: its fonds holds 婚姻登记 records


def demo_password() -> str:
    """A fresh random password that passes the validators (never derived from the seed)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"Lt-{body}"


def create_demo_users() -> list[DemoUser]:
    from lantai.accounts.models import User
    from lantai.accounts.services import create_user

    unit = Unit.objects.filter(code=UNIT_OFFICER_UNIT).first()
    users = []
    for role, username, real_name in DEMO_USERS:
        if User.objects.filter(username__iexact=username).exists():
            users.append(DemoUser(str(role), username, "", real_name, created=False))
            continue
        password = demo_password()
        create_user(
            None,
            username=username,
            password=password,
            real_name=real_name,
            roles=[role],
            unit=unit if role == Role.UNIT_OFFICER else None,
        )
        users.append(DemoUser(str(role), username, password, real_name, created=True))
    return users


# --- entry point ---------------------------------------------------------------------------


def _sqlite_pragmas(fast: bool) -> None:
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        if fast:
            # Durability of a half-done load does not matter (it rolls back as a whole);
            # a large cache keeps the indexes' pages in memory while a million rows go in.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
        else:
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA cache_size=-65536")


def _analyze() -> None:
    # Fresh statistics, so the planner picks the browse indexes at once.
    tables = ("holdings_item", "holdings_volume")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for table in tables:
                cursor.execute(f"ANALYZE {table}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(tables)}")


def load_demo(
    *,
    items: int = DEFAULT_ITEMS,
    seed: int = DEFAULT_SEED,
    if_empty: bool = False,
    with_users: bool = True,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Load the demo archive: about 40 units with their fonds, ``items`` items (件, those in
    volumes included), one account per role. The same seed gives the same holdings.

    ``if_empty``: do nothing (``skipped``) when holdings exist; otherwise existing holdings
    are an error (``DemoError``). ``progress`` is called with the number of items just made.
    Runs as the system (no actor) and writes one summary audit entry.
    """
    if items < 0:
        raise DemoError(_("件数不能为负数。"))
    if holdings_exist():
        if if_empty:
            return DemoResult(seed=seed, skipped=True)
        raise DemoError(_("馆藏中已有数据：演示数据只能加载到空库（加 --if-empty 则跳过）。"))
    started = time.monotonic()
    loader = Loader(items, seed, batch_size, progress or (lambda n: None))
    _sqlite_pragmas(fast=True)
    try:
        with transaction.atomic():
            result = loader.run()
            if with_users:
                result.users = create_demo_users()
            record(
                AuditAction.CREATE,
                object_type="holdings.demo",
                object_id=str(seed),
                object_repr=_("演示数据"),
                username="lantai demo",
                detail={
                    "seed": seed,
                    "units": result.units,
                    "fonds": result.fonds,
                    "series": result.series,
                    "volumes": result.volumes,
                    "items": result.items,
                    "items_standalone": result.items_standalone,
                    "items_in_volumes": result.items_in_volumes,
                    "holdings_count": result.holdings_count,
                    "categories": result.categories,
                    "users": [u.username for u in result.users if u.created],
                },
            )
    finally:
        # A rolled-back load must not leave its scheme in the per-process cache.
        refcode.clear_scheme_cache()
        _sqlite_pragmas(fast=False)
    if not connection.in_atomic_block:
        _analyze()
    result.seconds = time.monotonic() - started
    return result
