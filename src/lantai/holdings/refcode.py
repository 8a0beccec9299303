"""档号 engine: compose, parse and check reference codes against configurable templates.

A template is literal text with placeholders ``{fonds} {category} {year} {retention} {series}
{catalog} {volume} {item}``; the literal text between them is the separator ("-" joins levels,
"·" joins codes within a level). DA/T 22-2015 style ``{fonds}-{category}·{year}-{retention}-
{series}-{item}`` gives ``Z109-WS·2011-Y-BGS-0001``; DA/T 13-2022 style ``{fonds}-{category}·
{year}·{retention}·{series}-{item}`` gives ``Z109-WS·2011·Y·办公室-0001``.

{series} (机构(问题)) and {catalog} (目录号) are optional: DA/T 22 lets an archive without
series omit the code, so an empty value drops the placeholder together with the separator in
front of it (``Z109-WS·2011-Y-0001``).

The templates live in ReferenceScheme rows (editable data); ``scheme_for`` finds the most
specific one and caches them per process.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext as _

PLACEHOLDERS = ("fonds", "category", "year", "retention", "series", "catalog", "volume", "item")
OPTIONAL = frozenset({"series", "catalog"})
# The characters parts are made of; a separator must not contain any, or parsing is ambiguous.
_PART_CHARS = re.compile(r"[A-Za-z0-9\u3400-\u4dbf\u4e00-\u9fff]")
_TOKEN = re.compile(r"\{([^{}]*)\}")

_FIXED_PATTERNS = {
    "fonds": r"[A-Z0-9]{4}",
    "category": r"[A-Z]{2,3}",
    "year": r"[0-9]{4}",
    # Longer codes first so D30 is not read as D followed by "30".
    "retention": r"D30|D10|Y|C|D",
    "series": r"[A-Za-z0-9\u3400-\u4dbf\u4e00-\u9fff]+",
    "catalog": r"[A-Za-z0-9]+",
}

#: Model field that holds each part (for field-level error messages).
PART_FIELDS = {
    "fonds": "fonds",
    "category": "category",
    "year": "year",
    "retention": "retention",
    "series": "series",
    "catalog": "catalog_no",
    "volume": "volume",
    "item": "item_no",
}


def part_label(part: str) -> str:
    labels = {
        "fonds": _("全宗号"),
        "category": _("门类代码"),
        "year": _("年度"),
        "retention": _("保管期限"),
        "series": _("机构(问题)代码"),
        "catalog": _("目录号"),
        "volume": _("案卷号"),
        "item": _("件号"),
    }
    return labels.get(part, part)


def _part_rule(part: str, item_width: int, volume_width: int) -> str:
    rules = {
        "fonds": _("全宗号应为4位大写字母或数字"),
        "category": _("门类代码应为2至3位大写字母"),
        "year": _("年度应为4位数字"),
        "retention": _("保管期限代码应为 Y、D30、D10、C 或 D"),
        "series": _("机构(问题)代码只能由字母、数字或汉字组成"),
        "catalog": _("目录号只能由字母或数字组成"),
        "volume": _("案卷号应为%(n)d位数字") % {"n": volume_width},
        "item": _("件号应为%(n)d位数字") % {"n": item_width},
    }
    return rules[part]


class ReferenceCodeError(ValueError):
    """A 档号 or template that does not fit the rules; ``part`` names the offending part
    (a placeholder name, or "template" / "structure")."""

    def __init__(self, message: str, part: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.part = part

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class RefParts:
    """The parts of a 档号."""

    fonds: str
    category: str
    year: int
    retention: str
    series: str = ""
    catalog: str = ""
    volume: int | None = None
    item: int | None = None


# --- templates --------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def tokenize(template: str) -> tuple[tuple[str, str], ...]:
    """Split a template into ("lit", text) and ("ph", name) segments, checking it is usable."""
    if not template or not template.strip():
        raise ReferenceCodeError(_("档号模板不能为空"), "template")
    segments: list[tuple[str, str]] = []
    pos = 0
    seen: set[str] = set()
    for match in _TOKEN.finditer(template):
        if match.start() > pos:
            segments.append(("lit", template[pos : match.start()]))
        name = match.group(1)
        if name not in PLACEHOLDERS:
            raise ReferenceCodeError(
                _("档号模板中有未知的占位符 {%(name)s}；可用：%(all)s")
                % {"name": name, "all": " ".join(f"{{{p}}}" for p in PLACEHOLDERS)},
                "template",
            )
        if name in seen:
            raise ReferenceCodeError(
                _("档号模板中占位符 {%(name)s} 重复") % {"name": name}, "template"
            )
        seen.add(name)
        if segments and segments[-1][0] == "ph":
            raise ReferenceCodeError(
                _("档号模板中 {%(a)s} 与 {%(b)s} 之间必须有分隔符")
                % {"a": segments[-1][1], "b": name},
                "template",
            )
        segments.append(("ph", name))
        pos = match.end()
    if pos < len(template):
        segments.append(("lit", template[pos:]))
    if not seen:
        raise ReferenceCodeError(_("档号模板中没有任何占位符"), "template")
    for kind, text in segments:
        if kind == "lit" and ("{" in text or "}" in text):
            raise ReferenceCodeError(_("档号模板中的花括号不成对"), "template")
        if kind == "lit" and _PART_CHARS.search(text):
            raise ReferenceCodeError(
                _("档号模板的分隔符“%(sep)s”不能含字母、数字或汉字") % {"sep": text}, "template"
            )
    return tuple(segments)


def placeholders(template: str) -> set[str]:
    return {name for kind, name in tokenize(template) if kind == "ph"}


def _patterns(item_width: int, volume_width: int) -> dict[str, str]:
    return {
        **_FIXED_PATTERNS,
        "volume": f"[0-9]{{{volume_width}}}",
        "item": f"[0-9]{{{item_width}}}",
    }


@lru_cache(maxsize=256)
def _regex(template: str, item_width: int, volume_width: int, loose: bool) -> re.Pattern:
    segments = tokenize(template)
    if loose:
        seps = "".join(sorted({ch for kind, text in segments if kind == "lit" for ch in text}))
        any_part = f"[^{re.escape(seps)}]*" if seps else ".*"
        patterns = dict.fromkeys(PLACEHOLDERS, any_part)
    else:
        patterns = _patterns(item_width, volume_width)
    out: list[str] = []
    pending = ""
    for kind, text in segments:
        if kind == "lit":
            pending += text
            continue
        group = f"(?P<{text}>{patterns[text]})"
        if text in OPTIONAL:
            out.append(f"(?:{re.escape(pending)}{group})?")
        else:
            out.append(re.escape(pending) + group)
        pending = ""
    out.append(re.escape(pending))
    return re.compile("".join(out))


# --- compose / parse --------------------------------------------------------------------------


def _value(parts: RefParts, name: str, item_width: int, volume_width: int) -> str:
    raw = getattr(parts, name)
    if name in ("volume", "item"):
        if raw is None:
            raise ReferenceCodeError(
                _("档号需要%(label)s，但没有提供") % {"label": part_label(name)}, name
            )
        width = item_width if name == "item" else volume_width
        if not isinstance(raw, int) or raw < 1:
            raise ReferenceCodeError(_("%(label)s应为正整数") % {"label": part_label(name)}, name)
        text = str(raw).zfill(width)
        if len(text) > width:
            raise ReferenceCodeError(
                _("%(label)s %(value)s 超出%(n)d位，档号规则容纳不下")
                % {"label": part_label(name), "value": raw, "n": width},
                name,
            )
        return text
    return "" if raw is None else str(raw)


def compose(template: str, parts: RefParts, *, item_width: int = 4, volume_width: int = 3) -> str:
    """Build a 档号 from its parts; volume and item numbers are zero-padded to their widths.

    Every part is checked against the rule parse() applies, so what compose() returns always
    parses back to the same parts.
    """
    patterns = _patterns(item_width, volume_width)
    out: list[str] = []
    drop_next_literal = False
    for kind, text in tokenize(template):
        if kind == "lit":
            if drop_next_literal:
                drop_next_literal = False
                continue
            out.append(text)
            continue
        value = _value(parts, text, item_width, volume_width)
        if value == "" and text in OPTIONAL:
            # Omit the empty part with the separator in front of it (DA/T 22: 可省略).
            if out:
                out.pop()
            else:
                drop_next_literal = True
            continue
        if value == "":
            raise ReferenceCodeError(
                _("档号需要%(label)s，但没有提供") % {"label": part_label(text)}, text
            )
        if not re.fullmatch(patterns[text], value):
            raise ReferenceCodeError(
                _("%(rule)s（现为“%(value)s”）")
                % {"rule": _part_rule(text, item_width, volume_width), "value": value},
                text,
            )
        out.append(value)
    return "".join(out)


def example(template: str, *, item_width: int = 4, volume_width: int = 3) -> str:
    """A sample 档号 in the template's shape, for messages and help text."""
    sample = RefParts("Z109", "WS", 2011, "Y", "BGS", "1", 1, 1)
    return compose(template, sample, item_width=item_width, volume_width=volume_width)


def parse(template: str, code: str, *, item_width: int = 4, volume_width: int = 3) -> RefParts:
    """Read a 档号 back into its parts. Raises ReferenceCodeError naming what is wrong."""
    if not isinstance(code, str) or not code.strip():
        raise ReferenceCodeError(_("档号不能为空"), "structure")
    code = code.strip()
    match = _regex(template, item_width, volume_width, False).fullmatch(code)
    if match is None:
        _diagnose(template, code, item_width, volume_width)
    groups = match.groupdict()
    return RefParts(
        fonds=groups.get("fonds") or "",
        category=groups.get("category") or "",
        year=int(groups["year"]) if groups.get("year") else 0,
        retention=groups.get("retention") or "",
        series=groups.get("series") or "",
        catalog=groups.get("catalog") or "",
        volume=int(groups["volume"]) if groups.get("volume") else None,
        item=int(groups["item"]) if groups.get("item") else None,
    )


def _diagnose(template: str, code: str, item_width: int, volume_width: int) -> None:
    """Explain why ``code`` does not match: the first part that breaks its rule, else shape."""
    patterns = _patterns(item_width, volume_width)
    loose = _regex(template, item_width, volume_width, True).fullmatch(code)
    if loose is not None:
        for kind, name in tokenize(template):
            if kind != "ph":
                continue
            value = loose.group(name)
            if value is None and name in OPTIONAL:
                continue
            if not re.fullmatch(patterns[name], value or ""):
                raise ReferenceCodeError(
                    _("档号“%(code)s”中%(rule)s（现为“%(value)s”）")
                    % {
                        "code": code,
                        "rule": _part_rule(name, item_width, volume_width),
                        "value": value or "",
                    },
                    name,
                )
    raise ReferenceCodeError(
        _("档号“%(code)s”的结构不符合规则 %(template)s（应形如 %(example)s）")
        % {
            "code": code,
            "template": template,
            "example": example(template, item_width=item_width, volume_width=volume_width),
        },
        "structure",
    )


# --- schemes ----------------------------------------------------------------------------------

_SCHEME_TTL = 60.0  # other processes see an edited scheme within a minute
_scheme_lock = threading.Lock()
_scheme_cache: dict[str, object] = {"loaded": 0.0, "schemes": None}


def clear_scheme_cache() -> None:
    """Forget cached schemes (called when a scheme is saved or deleted)."""
    with _scheme_lock:
        _scheme_cache["schemes"] = None


def _schemes() -> dict:
    from lantai.holdings.models import ReferenceScheme

    with _scheme_lock:
        schemes = _scheme_cache["schemes"]
        if schemes is not None and time.monotonic() - _scheme_cache["loaded"] < _SCHEME_TTL:
            return schemes
    # Few rows (one per configured scope): load them all at once.
    loaded = {(s.fonds_id, s.category_id): s for s in ReferenceScheme.objects.all()}
    with _scheme_lock:
        _scheme_cache["schemes"] = loaded
        _scheme_cache["loaded"] = time.monotonic()
    return loaded


def _pk(value) -> int | None:
    if value is None:
        return None
    return getattr(value, "pk", value)


def scheme_for(fonds, category):
    """The ReferenceScheme for a fonds and category (instances or ids): fonds+category, then
    fonds, then category, then the default. Treat the result as read-only (it is shared)."""
    from lantai.holdings.models import ReferenceScheme

    fonds_id, category_id = _pk(fonds), _pk(category)
    schemes = _schemes()
    for key in ((fonds_id, category_id), (fonds_id, None), (None, category_id), (None, None)):
        if key in schemes:
            return schemes[key]
    # No default row (deleted by hand): the model defaults are the DA/T 22 templates.
    return ReferenceScheme()


# --- records ----------------------------------------------------------------------------------


def template_for_item(item, scheme=None) -> str:
    scheme = scheme or scheme_for(item.fonds_id, item.category_id)
    return scheme.volume_item_template if item.volume_id else scheme.item_template


def parts_for_item(item) -> RefParts:
    return RefParts(
        fonds=item.fonds.code,
        category=item.category.code,
        year=item.year,
        retention=item.retention,
        series=item.series.code if item.series_id else "",
        catalog=item.catalog_no or "",
        volume=item.volume.volume_no if item.volume_id else None,
        item=item.item_no,
    )


def parts_for_volume(volume) -> RefParts:
    return RefParts(
        fonds=volume.fonds.code,
        category=volume.category.code,
        year=volume.year,
        retention=volume.retention,
        series=volume.series.code if volume.series_id else "",
        catalog=volume.catalog_no or "",
        volume=volume.volume_no,
    )


def code_for_item(item) -> str:
    """The 档号 an item's fields give (items inside a volume use volume_item_template)."""
    scheme = scheme_for(item.fonds_id, item.category_id)
    return compose(
        template_for_item(item, scheme),
        parts_for_item(item),
        item_width=scheme.item_width,
        volume_width=scheme.volume_width,
    )


def code_for_volume(volume) -> str:
    scheme = scheme_for(volume.fonds_id, volume.category_id)
    return compose(
        scheme.volume_template,
        parts_for_volume(volume),
        item_width=scheme.item_width,
        volume_width=scheme.volume_width,
    )


def agreement_errors(code: str, record) -> dict[str, list[str]]:
    """Parts of ``code`` that disagree with ``record`` (an Item or Volume), keyed by the model
    field that holds the part; "reference_code" when the code itself cannot be read."""
    from lantai.holdings.models import Category, Fonds, Volume

    is_volume = isinstance(record, Volume)
    scheme = scheme_for(record.fonds_id, record.category_id)
    template = scheme.volume_template if is_volume else template_for_item(record, scheme)
    try:
        parts = parse(
            template, code, item_width=scheme.item_width, volume_width=scheme.volume_width
        )
    except ReferenceCodeError as exc:
        return {"reference_code": [exc.message]}
    expected = parts_for_volume(record) if is_volume else parts_for_item(record)
    used = placeholders(template)
    errors: dict[str, list[str]] = {}

    def add(part: str, message: str) -> None:
        field = PART_FIELDS[part]
        if is_volume and part == "volume":
            field = "volume_no"
        errors.setdefault(field, []).append(message)

    unknown: set[str] = set()
    if "fonds" in used and not Fonds.objects.filter(code=parts.fonds).exists():
        unknown.add("fonds")
        add("fonds", _("档号中的全宗号 %(v)s 不存在") % {"v": parts.fonds})
    if "category" in used and not Category.objects.filter(code=parts.category).exists():
        unknown.add("category")
        add("category", _("档号中的门类代码 %(v)s 不存在") % {"v": parts.category})
    for part in PLACEHOLDERS:
        if part not in used or part in unknown:
            continue
        got, want = getattr(parts, part), getattr(expected, part)
        if got != want:
            add(
                part,
                _("档号中的%(label)s“%(got)s”与著录的%(label)s“%(want)s”不一致")
                % {"label": part_label(part), "got": got, "want": "" if want is None else want},
            )
    return errors


def check_agreement(code: str, record) -> list[str]:
    """Messages for every part of ``code`` that does not agree with ``record``'s fields
    (known fonds and category codes, year, retention, series code, numbers); [] if all agree."""
    return [message for messages in agreement_errors(code, record).values() for message in messages]


__all__ = [
    "PART_FIELDS",
    "PLACEHOLDERS",
    "RefParts",
    "ReferenceCodeError",
    "agreement_errors",
    "check_agreement",
    "clear_scheme_cache",
    "code_for_item",
    "code_for_volume",
    "compose",
    "example",
    "parse",
    "parts_for_item",
    "parts_for_volume",
    "placeholders",
    "scheme_for",
    "tokenize",
]
