"""Input checks for holdings description: text, dates, numbers and codes.

Each function returns the cleaned value or raises ``django.core.exceptions.ValidationError``
with one clear Chinese message; the services collect them per field.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# C0 and C1 control characters and DEL. Multi-line text keeps tab, line feed and carriage return.
_CONTROL_SINGLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTI = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
SERIES_CODE = re.compile(r"[A-Za-z0-9\u3400-\u4dbf\u4e00-\u9fff]{1,20}")
CATEGORY_CODE = re.compile(r"[A-Z]{2,3}")
UNIT_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,32}")


def text(
    value: Any,
    label: str,
    *,
    max_length: int | None = None,
    multiline: bool = False,
    required: bool = False,
) -> str:
    """A text value: control characters refused, length checked, outer whitespace trimmed
    (single-line fields only; multi-line text keeps its layout)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            raise ValidationError(_("%(label)s应为文字") % {"label": label})
    found = (_CONTROL_MULTI if multiline else _CONTROL_SINGLE).search(value)
    if found:
        raise ValidationError(
            _("%(label)s含有不允许的控制字符（U+%(cp)04X）")
            % {"label": label, "cp": ord(found.group())}
        )
    if not multiline:
        value = value.strip()
    if required and not value.strip():
        raise ValidationError(_("%(label)s不能为空") % {"label": label})
    if max_length is not None and len(value) > max_length:
        raise ValidationError(
            _("%(label)s不能超过%(max)d个字符（现有%(n)d个）")
            % {"label": label, "max": max_length, "n": len(value)}
        )
    return value


def check_controls(value: Any, label: str) -> None:
    """Refuse control characters anywhere in a JSON-like value (dict keys and strings)."""
    if isinstance(value, str):
        text(value, label, multiline=True)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_controls(key, label)
            check_controls(item, label)
    elif isinstance(value, list | tuple):
        for item in value:
            check_controls(item, label)


def min_year() -> int:
    return int(getattr(settings, "LANTAI_MIN_YEAR", 1900))


def max_year() -> int:
    return timezone.localdate().year + 1


def year(value: Any, label: str | None = None) -> int:
    label = label or _("年度")
    if isinstance(value, bool):
        raise ValidationError(_("%(label)s应为4位数字") % {"label": label})
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[0-9]{4}", value):
            raise ValidationError(_("%(label)s应为4位数字") % {"label": label})
        value = int(value)
    if not isinstance(value, int):
        raise ValidationError(_("%(label)s应为4位数字") % {"label": label})
    low, high = min_year(), max_year()
    if not low <= value <= high:
        raise ValidationError(
            _("%(label)s应在%(low)d至%(high)d之间（现为%(v)d）")
            % {"label": label, "low": low, "high": high, "v": value}
        )
    return value


def date(value: Any, label: str) -> dt.date | None:
    """A date object or "YYYY-MM-DD"; a day that does not exist gets a message saying why."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        result = value
    elif isinstance(value, str):
        match = _DATE.fullmatch(value.strip())
        if match is None:
            raise ValidationError(
                _("%(label)s格式不正确，应为“年-月-日”，如 2017-02-28（现为“%(v)s”）")
                % {"label": label, "v": value[:40]}
            )
        y, m, d = (int(part) for part in match.groups())
        if not 1 <= m <= 12:
            raise ValidationError(
                _("%(label)s不存在：%(v)s（月份应为1至12）") % {"label": label, "v": value}
            )
        last = calendar.monthrange(y, m)[1] if y >= 1 else 31
        if not 1 <= d <= last:
            raise ValidationError(
                _("%(label)s不存在：%(v)s（%(y)d年%(m)d月只有%(last)d天）")
                % {"label": label, "v": value, "y": y, "m": m, "last": last}
            )
        result = dt.date(y, m, d)
    else:
        raise ValidationError(_("%(label)s应为日期") % {"label": label})
    low, high = min_year(), max_year()
    if not low <= result.year <= high:
        raise ValidationError(
            _("%(label)s的年份应在%(low)d至%(high)d之间（现为%(v)s）")
            % {"label": label, "low": low, "high": high, "v": result.isoformat()}
        )
    return result


def integer(value: Any, label: str, *, minimum: int = 0, required: bool = False) -> int | None:
    if value is None or value == "":
        if required:
            raise ValidationError(_("%(label)s不能为空") % {"label": label})
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(_("%(label)s应为整数") % {"label": label})
    if value < minimum:
        raise ValidationError(
            _("%(label)s不能小于%(min)d（现为%(v)d）")
            % {"label": label, "min": minimum, "v": value}
        )
    if value > 2_147_483_647:
        raise ValidationError(_("%(label)s太大") % {"label": label})
    return value


def choice(value: Any, choices, label: str, *, default: str | None = None) -> str:
    """A choice given by its value or its Chinese label (legacy catalogs use labels)."""
    if value is None or value == "":
        if default is not None:
            return default
        raise ValidationError(_("%(label)s不能为空") % {"label": label})
    value = str(value).strip()
    for code, name in choices.choices:
        if value in (code, str(name)):
            return code
    raise ValidationError(
        _("%(label)s“%(v)s”无效，可选：%(all)s")
        % {
            "label": label,
            "v": value[:40],
            "all": "、".join(f"{code}（{name}）" for code, name in choices.choices),
        }
    )


def fonds_code(value: Any) -> str:
    code = text(value, _("全宗号"), max_length=8, required=True)
    pattern = getattr(settings, "LANTAI_FONDS_CODE_PATTERN", r"[A-Z][0-9]{3}")
    if not re.fullmatch(pattern, code):
        raise ValidationError(
            _("全宗号“%(v)s”格式不正确，应为1个大写字母加3位数字，如 Z109") % {"v": code}
            if pattern == r"[A-Z][0-9]{3}"
            else _("全宗号“%(v)s”格式不正确（规则：%(p)s）") % {"v": code, "p": pattern}
        )
    return code


def series_code(value: Any) -> str:
    code = text(value, _("机构(问题)代码"), max_length=20, required=True)
    if not SERIES_CODE.fullmatch(code):
        raise ValidationError(_("机构(问题)代码“%(v)s”只能由字母、数字或汉字组成") % {"v": code})
    return code


def category_code(value: Any) -> str:
    code = text(value, _("门类代码"), max_length=8, required=True)
    if not CATEGORY_CODE.fullmatch(code):
        raise ValidationError(_("门类代码“%(v)s”应为2至3位大写字母") % {"v": code})
    return code


def unit_code(value: Any) -> str:
    code = text(value, _("单位代码"), max_length=32, required=True)
    if not UNIT_CODE.fullmatch(code):
        raise ValidationError(
            _("单位代码“%(v)s”只能由字母、数字、点、横线或下划线组成") % {"v": code}
        )
    return code
