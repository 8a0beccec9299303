"""Portal services 公众服务门户服务: real-name registration 实名注册 of citizens and their
protected 居民身份证 number; the public view of open holdings lives in ``portal.public``.

Identity functions other apps use:

- ``validate_id_number(raw)`` — GB 11643-1999 check (18 characters, region code, birth date,
  ISO 7064 MOD 11-2 check digit); returns the normalised number or raises ValidationError.
- ``id_number_hash(raw)`` — HMAC-SHA256 of the normalised number, the only form in which an
  ID number is compared (livelihood matches records with it).
- ``mask_id_number(raw)`` — 110105********123X, what pages show.
- ``register_citizen(data)``, ``citizen_profile(user)``, ``reveal_id_number(actor, profile)``.

Keys come from SECRET_KEY through HKDF with a distinct label per use, so the hash key and the
encryption key differ and neither is SECRET_KEY itself. Changing SECRET_KEY makes stored
hashes and ciphertexts unreadable (see docs/portal.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import date
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.accounts.models import User
from lantai.accounts.roles import Role
from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import require
from lantai.portal.models import CitizenProfile

REVEAL = "portal.reveal_id_number"

#: ISO 7064 MOD 11-2 weights for the first 17 digits (2^(17-i) mod 11) and the check
#: character for each remainder (GB 11643-1999 §7).
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
#: Province-level codes of GB/T 2260 (81/82/83: 港澳台居民居住证).
_PROVINCES = frozenset(
    re.findall(r"\d\d", "1112131415212223313233343536374142434445465051525354616263646571818283")
)
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_SPACES = re.compile(r"[\s\-]+")


# --- keys -----------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"lantai.portal", info=label).derive(
        secret.encode("utf-8")
    )


def _hash_key() -> bytes:
    return _derive(settings.SECRET_KEY, b"citizen-id-hash v1")


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(settings.SECRET_KEY, b"citizen-id-enc v1")))


# --- 居民身份证号 -----------------------------------------------------------------------------


def check_digit(first17: str) -> str:
    """校验码 of GB 11643-1999 for the 17-digit body (ISO 7064 MOD 11-2)."""
    total = sum(int(ch) * weight for ch, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise_id_number(raw: str) -> str:
    """Drop spaces and dashes, upper-case a trailing x (people type it either way)."""
    return _SPACES.sub("", raw or "").upper()


def validate_id_number(raw: str) -> str:
    """The normalised 居民身份证号 if it is well formed, else ValidationError (Chinese).

    Checks the shape (18 characters, the last may be X), the region code's format
    (a GB/T 2260 province, a county-level code), the birth date (a real date, not in the
    future, not before 1900) and the check digit.
    """
    number = normalise_id_number(raw)
    if not number:
        raise ValidationError(_("请填写居民身份证号码。"), code="required")
    if not _ID_SHAPE.match(number):
        raise ValidationError(
            _("身份证号码应为 18 位：前 17 位是数字，最后一位是数字或 X。"), code="shape"
        )
    region = number[:6]
    if region[:2] not in _PROVINCES or (
        region[2:] == "0000" and region[:2] not in ("81", "82", "83")
    ):
        raise ValidationError(_("身份证号码的地址码（前 6 位）不正确。"), code="region")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("身份证号码中的出生日期不存在。"), code="birth") from None
    if born.year < 1900 or born > timezone.localdate():
        raise ValidationError(_("身份证号码中的出生日期不合理。"), code="birth")
    if check_digit(number[:17]) != number[17]:
        raise ValidationError(_("身份证号码校验位不正确，请核对后重新输入。"), code="check")
    return number


def id_number_hash(raw: str) -> str:
    """HMAC-SHA256 (hex) of the normalised number: how identities are looked up and matched.

    The number is normalised, not validated, so a record typed with a lower-case x or with
    spaces still matches.
    """
    number = normalise_id_number(raw)
    return hmac.new(_hash_key(), number.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def mask_id_number(raw: str) -> str:
    """脱敏: keep the region code and the last four, e.g. 110105********123X."""
    number = normalise_id_number(raw)
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def encrypt_id_number(number: str) -> str:
    return _fernet().encrypt(number.encode("ascii")).decode("ascii")


def _decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        # SECRET_KEY changed since registration: the ciphertext cannot be read any more.
        raise ValidationError(_("无法解密身份证号码：密钥已更换。")) from exc


# --- phone ----------------------------------------------------------------------------------


def validate_mobile(raw: str) -> str:
    """A mainland mobile number 手机号 (11 digits starting 13–19; +86 prefix accepted)."""
    phone = _SPACES.sub("", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    if not _MOBILE.match(phone):
        raise ValidationError(_("请填写正确的手机号码（11 位，以 1 开头）。"), code="phone")
    return phone


# --- registration ---------------------------------------------------------------------------


def _validate_name(raw: str) -> str:
    name = (raw or "").strip()
    if not name:
        raise ValidationError(_("请填写真实姓名。"), code="required")
    if len(name) > 50:
        raise ValidationError(_("姓名不能超过 50 个字符。"), code="long")
    if any(ch.isdigit() for ch in name) or "<" in name or ">" in name:
        raise ValidationError(_("姓名中不能含有数字或特殊符号。"), code="chars")
    return name


def _registration_errors(data: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, str]]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for field, check in (
        ("real_name", _validate_name),
        ("id_number", validate_id_number),
        ("phone", validate_mobile),
    ):
        try:
            cleaned[field] = check(data.get(field) or "")
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    if "id_number" in cleaned:
        digest = id_number_hash(cleaned["id_number"])
        if CitizenProfile.objects.filter(id_hash=digest).exists():
            errors.setdefault("id_number", []).append(_taken_id())
    return errors, cleaned


def _taken_id() -> str:
    return _("该身份证号码已注册，请直接登录；如忘记密码请到档案馆窗口办理。")


def check_registration(data: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem with a registration (name, ID number, phone, password), saving nothing:
    the form shows them all at once even when its own checks already failed."""
    errors, cleaned = _registration_errors(data)
    from lantai.accounts.services import _check_password

    username = (data.get("username") or "").strip() or cleaned.get("phone", "")
    try:
        _check_password(data.get("password") or "", User(username=username), "password")
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    return errors


def register_citizen(data: dict[str, Any]) -> User:
    """实名注册: create a 社会公众 account and its CitizenProfile in one transaction.

    ``data`` holds real_name, id_number, phone, password and optionally username (default:
    the phone number, which is how citizens sign in). Raises ValidationError({field:
    [messages]}) listing every problem; nothing is saved then. One account per ID number.
    """
    errors, cleaned = _registration_errors(data)
    username = (data.get("username") or "").strip() or cleaned.get("phone", "")
    if errors:
        # Still check the password, so the citizen sees every problem at once.
        raise ValidationError(check_registration(data))
    taken_id = _taken_id()

    from lantai.accounts.services import create_user

    number = cleaned["id_number"]
    try:
        with transaction.atomic():
            user = create_user(
                None,
                username=username,
                password=data.get("password") or "",
                real_name=cleaned["real_name"],
                roles=[Role.PUBLIC],
                phone=cleaned["phone"],
            )
            try:
                with transaction.atomic():
                    profile = CitizenProfile.objects.create(
                        user=user,
                        real_name=cleaned["real_name"],
                        id_hash=id_number_hash(number),
                        id_encrypted=encrypt_id_number(number),
                        id_masked=mask_id_number(number),
                        phone=cleaned["phone"],
                    )
            except IntegrityError as exc:
                # Two registrations of one ID at once: the unique index decides.
                raise ValidationError({"id_number": [taken_id]}) from exc
            record(
                AuditAction.CREATE,
                actor=user,
                obj=profile,
                detail={"event": "register_citizen", "id_masked": profile.id_masked},
            )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "username" in exc.error_dict and not data.get("username"):
            # The username is the phone number: say so in the citizen's terms.
            raise ValidationError(
                {"phone": [_("该手机号码已注册，请直接登录。")]}
                | {k: v for k, v in exc.message_dict.items() if k != "username"}
            ) from exc
        raise
    return user


def citizen_profile(user) -> CitizenProfile | None:
    """The user's 实名信息, or None (staff, anonymous, or not registered through the portal)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return CitizenProfile.objects.get(user_id=user.pk)
    except CitizenProfile.DoesNotExist:
        return None


def find_citizen(raw_id_number: str) -> CitizenProfile | None:
    """The profile registered with this ID number, matched by hash only."""
    return (
        CitizenProfile.objects.select_related("user")
        .filter(id_hash=id_number_hash(raw_id_number))
        .first()
    )


def reveal_id_number(actor, profile: CitizenProfile, reason: str = "") -> str:
    """查看完整身份证号: needs ``portal.reveal_id_number``; every reveal is audited."""
    require(actor, REVEAL)
    number = _decrypt(profile.id_encrypted)
    with transaction.atomic():
        record(
            AuditAction.VIEW,
            actor=actor,
            obj=profile,
            detail={
                "event": "reveal_id_number",
                "id_masked": profile.id_masked,
                "reason": (reason or "")[:200],
            },
        )
    return number


__all__ = [
    "REVEAL",
    "check_digit",
    "check_registration",
    "citizen_profile",
    "find_citizen",
    "id_number_hash",
    "mask_id_number",
    "normalise_id_number",
    "register_citizen",
    "reveal_id_number",
    "validate_id_number",
    "validate_mobile",
]
