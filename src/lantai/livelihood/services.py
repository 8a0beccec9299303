"""民生档案 services: a citizen finds their own livelihood records 本人查档, staff search the
person index for walk-in citizens, and cross-archive requests 跨馆出证 move 申请 → 受理 → 协办
→ 办结 (or 退回 / 无档) between archives.

Every step checks permission here and is audited in the same transaction. Calls to a partner
archive happen *outside* any transaction (a slow or dead partner never holds a lock); a failed
call leaves the request where it was, with the error, to be retried.

Who sees what, for the lookup by a citizen (本人查档):
* only when name AND ID number equal their real-name registration (实名信息) — nobody looks
  up someone else;
* records of livelihood categories (``Category.livelihood``) naming them with that ID hash:
  catalog basics (门类, 年度, 档号, title with other persons' names masked), never contents;
  these personal records are served to the person concerned whether or not opened to all,
  but never one whose 密级 (or its volume's) is above ``LANTAI_LIVELIHOOD_OWNER_CLASSIFICATIONS``
  (default 公开, 内部) — 秘密/机密/绝密 never reach the portal;
* records naming them without an ID number, matched by name and birth year: only a count per
  category ("possible match, apply for verification"), nothing of the record itself.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import has, require
from lantai.holdings.models import Category, Classification, Item
from lantai.holdings.services import visible_items
from lantai.livelihood import persons
from lantai.livelihood.models import (
    CrossEvent,
    CrossRequest,
    CrossResult,
    CrossStatus,
    Direction,
    PartnerArchive,
    PersonRef,
)

SEARCH = "livelihood.search_persons"
MANAGE = "livelihood.manage_cross_requests"
PARTNERS = "livelihood.manage_partners"
TOKEN_PREFIX = "ltp_"  # noqa: S105 - a prefix, not a secret
OPEN_STATES = (
    CrossStatus.SUBMITTED,
    CrossStatus.ACCEPTED,
    CrossStatus.ASSISTING,
    CrossStatus.ANSWERED,
)
#: Working days allowed per state: 受理 1, 协办 4 (the holding archive answers), 办结 2.
DEFAULT_DUE_DAYS = {"submitted": 1, "assisting": 4, "answered": 2}


def due_days() -> dict[str, int]:
    days = dict(DEFAULT_DUE_DAYS)
    days.update(getattr(settings, "LANTAI_CROSS_DUE_DAYS", {}) or {})
    return days


def archive_code() -> str:
    return settings.LANTAI_ARCHIVE_CODE


def archive_name() -> str:
    return settings.LANTAI_ARCHIVE_NAME


def _add_working_days(start: date, days: int) -> date:
    # The utilization app owns the holiday calendar (节假日 / 调休上班); one calendar for all.
    from lantai.utilization.workdays import add_working_days

    return add_working_days(start, days)


# --- identity helpers ---------------------------------------------------------------------------


def _portal():
    from lantai.portal import services as portal

    return portal


def mask_name(name: str) -> str:
    """张三 → 张*: enough to recognise, not enough to identify."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name or "*"
    return name[0] + "*" * (len(name) - 1)


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"lantai.livelihood", info=b"cross v1"
    ).derive(secret.encode())


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_key(settings.SECRET_KEY)))


def _encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode("ascii") if text else ""


def _decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise ValidationError(_("无法解密：密钥已更换，请重新录入。")) from None


# --- who may see which records ------------------------------------------------------------------


def owner_classifications() -> tuple[str, ...]:
    return tuple(
        getattr(settings, "LANTAI_LIVELIHOOD_OWNER_CLASSIFICATIONS", None)
        or (Classification.PUBLIC, Classification.INTERNAL)
    )


def owner_items() -> QuerySet[Item]:
    """Livelihood items that may be served to the person they name (see module docstring)."""
    allowed = owner_classifications()
    return Item.objects.filter(category__livelihood=True, classification__in=allowed).filter(
        Q(volume__isnull=True) | Q(volume__classification__in=allowed)
    )


def masked_title(item: Item, keep: str) -> str:
    """The title with every indexed person's name masked except ``keep`` (normalised)."""
    title = item.title
    extra = item.extra if isinstance(item.extra, dict) else {}
    category = item.category
    for spec in persons.roles_for(category):
        for key in spec.get("name", []):
            raw = str(extra.get(key) or "").strip()
            if raw and persons.normalise_name(raw) != keep:
                title = title.replace(raw, mask_name(raw))
    return title


@dataclass
class Match:
    item: Item
    role: str
    title: str


@dataclass
class LookupResult:
    matches: list[Match] = field(default_factory=list)
    possible: list[tuple[str, int]] = field(default_factory=list)  # (门类, count)

    @property
    def item_ids(self) -> list[int]:
        return [m.item.pk for m in self.matches]


def _check_own_identity(user, name: str, id_number: str):
    """The citizen's profile when name and ID equal their registration, else an error."""
    portal = _portal()
    profile = portal.citizen_profile(user)
    if profile is None:
        raise PermissionDenied(_("请先完成实名注册后再查询本人档案。"))
    errors: dict[str, list[str]] = {}
    if not persons.normalise_name(name):
        errors["name"] = [_("请填写姓名。")]
    try:
        number = portal.validate_id_number(id_number)
    except ValidationError as exc:
        errors["id_number"] = exc.messages
        number = ""
    if errors:
        raise ValidationError(errors)
    same_name = persons.normalise_name(name) == persons.normalise_name(profile.real_name)
    same_id = hmac.compare_digest(portal.id_number_hash(number), profile.id_hash)
    if not (same_name and same_id):
        record(
            AuditAction.VIEW,
            actor=user,
            object_type="livelihood.lookup",
            detail={"event": "lookup_refused", "reason": "identity_mismatch"},
        )
        raise ValidationError(
            {"__all__": [_("只能查询本人的档案：姓名和身份证号须与实名注册信息一致。")]}
        )
    return profile, number


def lookup_own(user, name: str, id_number: str) -> LookupResult:
    """本人查档: the citizen's own livelihood records (rate limiting is the view's job)."""
    profile, number = _check_own_identity(user, name, id_number)
    key = persons.normalise_name(profile.real_name)
    result = LookupResult()
    refs = (
        PersonRef.objects.filter(name=key, id_hash=profile.id_hash, item__in=owner_items())
        .select_related("item", "item__category", "item__fonds")
        .order_by("item__category__sort_order", "item__year", "item_id")
    )
    seen: set[int] = set()
    for ref in refs:
        if ref.item_id in seen:
            continue
        seen.add(ref.item_id)
        result.matches.append(Match(ref.item, ref.role, masked_title(ref.item, key)))
    born = int(number[6:10])
    possible = (
        PersonRef.objects.filter(
            name=key, id_hash__isnull=True, birth_year=born, item__in=owner_items()
        )
        .exclude(item_id__in=seen)
        .values("item__category__name")
        .annotate(n=Count("item", distinct=True))
        .order_by("item__category__name")
    )
    result.possible = [(row["item__category__name"], row["n"]) for row in possible]
    record(
        AuditAction.VIEW,
        actor=user,
        object_type="livelihood.lookup",
        detail={
            "event": "lookup_own",
            "id_masked": profile.id_masked,
            "matches": result.item_ids,
            "possible": sum(n for _c, n in result.possible),
        },
    )
    return result


def search_persons(
    user, *, name: str = "", id_number: str = "", birth_year: int | None = None, limit: int = 200
) -> list[PersonRef]:
    """人员查询 for walk-in citizens (馆员, ``livelihood.search_persons``), audited; scoped by
    ``visible_items(user)``."""
    require(user, SEARCH)
    key = persons.normalise_name(name)
    errors: dict[str, list[str]] = {}
    id_hash = None
    if id_number.strip():
        try:
            number = _portal().validate_id_number(id_number)
            id_hash = _portal().id_number_hash(number)
        except ValidationError as exc:
            errors["id_number"] = exc.messages
    if not key and not id_hash and "id_number" not in errors:
        errors["name"] = [_("请至少填写姓名或身份证号。")]
    if errors:
        raise ValidationError(errors)
    refs = PersonRef.objects.filter(item__in=visible_items(user))
    if key:
        refs = refs.filter(name=key)
    if id_hash:
        refs = refs.filter(id_hash=id_hash)
    if birth_year:
        refs = refs.filter(birth_year=birth_year)
    rows = list(
        refs.select_related("item", "item__category", "item__fonds").order_by(
            "item__category__sort_order", "item__year", "item_id"
        )[:limit]
    )
    record(
        AuditAction.VIEW,
        actor=user,
        object_type="livelihood.person_search",
        detail={
            "name": key,
            "id_masked": _portal().mask_id_number(id_number) if id_number.strip() else "",
            "birth_year": birth_year,
            "found": len(rows),
        },
    )
    return rows


# --- partners -----------------------------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def save_partner(actor, data: dict[str, Any], partner: PartnerArchive | None = None):
    """Create or change a 协作馆. Returns (partner, inbound token or ""): a new partner gets
    a token to hand to that archive (shown once, stored hashed)."""
    require(actor, PARTNERS)
    errors: dict[str, list[str]] = {}
    code = str(data.get("code") or "").strip()
    name = str(data.get("name") or "").strip()
    base_url = str(data.get("base_url") or "").strip().rstrip("/")
    if not code:
        errors["code"] = [_("请填写档案馆代码。")]
    elif code == archive_code():
        errors["code"] = [_("不能把本馆登记为协作馆。")]
    elif PartnerArchive.objects.filter(code=code).exclude(pk=getattr(partner, "pk", None)).exists():
        errors["code"] = [_("该档案馆代码已登记。")]
    if not name:
        errors["name"] = [_("请填写档案馆名称。")]
    if base_url and not base_url.startswith(("http://", "https://")):
        errors["base_url"] = [_("接口地址应以 http:// 或 https:// 开头。")]
    if errors:
        raise ValidationError(errors)
    token = ""
    with transaction.atomic():
        creating = partner is None
        partner = partner or PartnerArchive()
        partner.code, partner.name, partner.base_url = code, name, base_url
        partner.region = str(data.get("region") or "").strip()[:100]
        partner.contact = str(data.get("contact") or "").strip()[:200]
        if "active" in data:
            partner.active = bool(data["active"])
        if data.get("outbound_token"):
            partner.outbound_token = _encrypt(str(data["outbound_token"]).strip())
        if creating:
            token = new_token()
            partner.inbound_prefix, partner.inbound_hash = token[:12], _token_hash(token)
        partner.save()
        record(
            AuditAction.CREATE if creating else AuditAction.UPDATE,
            actor=actor,
            obj=partner,
            detail={"code": code, "base_url": base_url, "event": "save_partner"},
        )
    return partner, token


def rotate_inbound_token(actor, partner: PartnerArchive) -> str:
    require(actor, PARTNERS)
    token = new_token()
    with transaction.atomic():
        partner.inbound_prefix, partner.inbound_hash = token[:12], _token_hash(token)
        partner.save(update_fields=["inbound_prefix", "inbound_hash"])
        record(AuditAction.UPDATE, actor=actor, obj=partner, detail={"event": "rotate_token"})
    return token


def authenticate_partner(raw: str) -> PartnerArchive | None:
    if not raw or len(raw) > 200 or not raw.startswith(TOKEN_PREFIX):
        return None
    for partner in PartnerArchive.objects.filter(inbound_prefix=raw[:12], active=True):
        if hmac.compare_digest(partner.inbound_hash, _token_hash(raw)):
            return partner
    return None


# --- cross requests: reading ---------------------------------------------------------------------


def requests_of(user) -> QuerySet[CrossRequest]:
    """A citizen's own cross requests (for the portal's personal page)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return CrossRequest.objects.none()
    return CrossRequest.objects.filter(applicant=user).order_by("-created_at")


def get_request(user, pk) -> CrossRequest:
    """Staff with manage rights see all; a citizen only their own; else DoesNotExist."""
    qs = CrossRequest.objects.select_related("partner", "certificate")
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise CrossRequest.DoesNotExist from None
    if has(user, MANAGE):
        return qs.get(pk=key)
    return qs.get(pk=key, applicant=user, applicant__isnull=False)


def is_overdue(req: CrossRequest, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return req.status in OPEN_STATES and req.due_on is not None and req.due_on < today


def queue(user, which: str) -> QuerySet[CrossRequest]:
    """``incoming`` (we are the holding archive 协办馆) or ``outgoing`` (we received it 受理馆,
    incl. requests we handle ourselves); open ones first by due date."""
    require(user, MANAGE)
    qs = CrossRequest.objects.select_related("partner")
    if which == "incoming":
        qs = qs.filter(direction=Direction.INCOMING)
    else:
        qs = qs.exclude(direction=Direction.INCOMING)
    return qs.order_by("due_on", "-created_at")


# --- cross requests: steps -----------------------------------------------------------------------


def _event(req: CrossRequest, action: str, actor, before: str, note: str = "", username="") -> None:
    who = getattr(actor, "username", "") or username
    CrossEvent.objects.create(
        request=req,
        actor=who,
        action=action,
        status_before=before,
        status_after=req.status,
        note=note[:2000],
    )
    record(
        AuditAction.UPDATE if before else AuditAction.CREATE,
        actor=actor,
        obj=req,
        username=who,
        detail={"event": action, "from": before, "to": req.status, "note": note[:500]},
    )


def _next_number() -> str:
    today = timezone.localdate()
    stem = f"KG{archive_code()}{today:%Y%m%d}"
    used = CrossRequest.objects.filter(number__startswith=stem).exclude(
        direction=Direction.INCOMING
    )
    return f"{stem}{used.count() + 1:04d}"


def _create_numbered(req: CrossRequest) -> None:
    for _attempt in range(20):
        req.number = _next_number()
        try:
            with transaction.atomic():
                req.save()
            return
        except IntegrityError:
            continue  # two applications in the same instant: take the next number
    raise ValidationError(_("申请编号分配失败，请重试。"))


def apply(
    user,
    data: dict[str, Any],
    *,
    item_ids: list[int] | None = None,
    walk_in: bool = False,
) -> CrossRequest:
    """申请: a citizen (their own identity) or staff for a walk-in citizen (``walk_in``).

    ``data``: applicant_name (walk-in) / id_number, holding_code (ours or a partner's),
    records_sought, purpose, category_code, phone. ``item_ids``: records found by a lookup
    (only the applicant's own, re-checked here).
    """
    portal = _portal()
    errors: dict[str, list[str]] = {}
    if walk_in:
        require(user, MANAGE)
        name = str(data.get("applicant_name") or "").strip()
        if not name:
            errors["applicant_name"] = [_("请填写申请人姓名。")]
        id_number = ""
        try:
            id_number = portal.validate_id_number(str(data.get("id_number") or ""))
        except ValidationError as exc:
            errors["id_number"] = exc.messages
    else:
        profile = portal.citizen_profile(user)
        if profile is None:
            raise PermissionDenied(_("请先完成实名注册后再申请。"))
        name = profile.real_name
        id_number = ""
        try:
            id_number = portal.validate_id_number(str(data.get("id_number") or ""))
            if not hmac.compare_digest(portal.id_number_hash(id_number), profile.id_hash):
                errors["id_number"] = [_("身份证号与实名注册信息不一致。")]
        except ValidationError as exc:
            errors["id_number"] = exc.messages
    holding_code = str(data.get("holding_code") or archive_code()).strip()
    partner = None
    if holding_code != archive_code():
        partner = PartnerArchive.objects.filter(code=holding_code, active=True).first()
        if partner is None:
            errors["holding_code"] = [_("请选择本馆或已登记的协作馆。")]
    records_sought = str(data.get("records_sought") or "").strip()
    purpose = str(data.get("purpose") or "").strip()
    if not records_sought:
        errors["records_sought"] = [_("请说明所需档案（如：1985年结婚登记）。")]
    elif len(records_sought) > 2000:
        errors["records_sought"] = [_("所需档案说明不能超过 2000 字。")]
    if not purpose:
        errors["purpose"] = [_("请填写利用目的。")]
    elif len(purpose) > 200:
        errors["purpose"] = [_("利用目的不能超过 200 字。")]
    category_code = str(data.get("category_code") or "").strip()
    if category_code and not Category.objects.filter(code=category_code, livelihood=True).exists():
        errors["category_code"] = [_("请选择民生档案门类。")]
    if errors:
        raise ValidationError(errors)
    id_hash = portal.id_number_hash(id_number)
    items: list[Item] = []
    if item_ids and partner is None:
        # Only records naming this very person, by the same rules as the lookup.
        items = list(
            owner_items()
            .filter(
                pk__in=PersonRef.objects.filter(
                    name=persons.normalise_name(name), id_hash=id_hash, item_id__in=item_ids
                ).values("item_id")
            )
            .distinct()
        )
    today = timezone.localdate()
    holder = partner.name if partner else archive_name()
    req = CrossRequest(
        direction=Direction.OUTGOING if partner else Direction.LOCAL,
        partner=partner,
        receiving_code=archive_code(),
        receiving_name=archive_name(),
        holding_code=holding_code,
        holding_name=holder,
        applicant=None if walk_in else user,
        applicant_name=name[:50],
        applicant_id_hash=id_hash,
        applicant_id_masked=portal.mask_id_number(id_number),
        applicant_id_encrypted=_encrypt(id_number) if partner else "",
        applicant_phone=str(data.get("phone") or "").strip()[:20],
        category_code=category_code,
        records_sought=records_sought,
        purpose=purpose,
        due_on=_add_working_days(today, due_days()["submitted"]),
    )
    with transaction.atomic():
        _create_numbered(req)
        if items:
            req.items.set(items)
        _event(req, "apply", user, "", _("到馆登记") if walk_in else _("网上申请"))
    return req


def _locked(req: CrossRequest) -> CrossRequest:
    return CrossRequest.objects.select_for_update().get(pk=req.pk)


def _refuse(message: str) -> ValidationError:
    return ValidationError({"__all__": [message]})


def accept(actor, req: CrossRequest, note: str = "") -> CrossRequest:
    """受理: the receiving archive has checked the applicant's identity. A request we hold
    ourselves goes straight on to 协办 (4 working days); one for a partner waits to be
    forwarded (``forward``)."""
    require(actor, MANAGE)
    with transaction.atomic():
        req = _locked(req)
        if req.direction == Direction.INCOMING or req.status != CrossStatus.SUBMITTED:
            raise _refuse(_("只能受理待受理的申请。"))
        before = req.status
        today = timezone.localdate()
        if req.direction == Direction.LOCAL:
            req.status = CrossStatus.ASSISTING
            req.due_on = _add_working_days(today, due_days()["assisting"])
        else:
            req.status = CrossStatus.ACCEPTED
            req.due_on = _add_working_days(today, due_days()["submitted"])
        req.save()
        _event(req, "accept", actor, before, note or _("身份核验通过"))
    return req


def return_request(actor, req: CrossRequest, reason: str) -> CrossRequest:
    """退回: identity not confirmed or the application cannot be handled (reason required)."""
    require(actor, MANAGE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("请填写退回原因。")]})
    with transaction.atomic():
        req = _locked(req)
        if req.direction == Direction.INCOMING or req.status not in (
            CrossStatus.SUBMITTED,
            CrossStatus.ACCEPTED,
        ):
            raise _refuse(_("该申请当前不能退回。"))
        before = req.status
        req.status = CrossStatus.RETURNED
        req.due_on = None
        req.applicant_id_encrypted = ""
        req.save()
        _event(req, "return", actor, before, reason)
    return req


# --- talking to partners --------------------------------------------------------------------------


class PartnerError(Exception):
    """A partner archive could not be reached or refused the call (message in Chinese)."""


def _call(partner: PartnerArchive, path: str, payload: dict) -> dict:
    if not partner.base_url:
        raise PartnerError(_("协作馆未配置接口地址。"))
    token = _decrypt(partner.outbound_token)
    if not token:
        raise PartnerError(_("未配置向协作馆发送请求所用的令牌。"))
    url = partner.base_url.rstrip("/") + "/api/v1" + path
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is a configured http(s) partner
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        },
    )
    timeout = float(getattr(settings, "LANTAI_CROSS_TIMEOUT", 15))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"{}").get("detail", "")
        except (ValueError, AttributeError):
            detail = ""
        raise PartnerError(
            _("协作馆拒绝了请求（HTTP %(code)s）%(detail)s")
            % {"code": exc.code, "detail": f"：{detail}" if detail else ""}
        ) from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PartnerError(
            _("无法连接协作馆接口（%(url)s）：%(reason)s。申请保持原状态，可稍后重试。")
            % {"url": url, "reason": reason}
        ) from exc
    except ValueError as exc:
        raise PartnerError(_("协作馆的答复不是有效的 JSON。")) from exc


def forward(actor, req: CrossRequest) -> CrossRequest:
    """转发 to the holding archive (协办). On failure the request stays 受理 with
    ``forward_error`` set (retry by calling again); raises PartnerError then."""
    require(actor, MANAGE)
    req.refresh_from_db()
    if req.direction != Direction.OUTGOING or req.status != CrossStatus.ACCEPTED:
        raise _refuse(_("只有已受理、待转发的申请可以转发。"))
    payload = {
        "number": req.number,
        "receiving_code": req.receiving_code,
        "receiving_name": req.receiving_name,
        "holding_code": req.holding_code,
        "applicant_name": req.applicant_name,
        "applicant_id_number": _decrypt(req.applicant_id_encrypted),
        "category_code": req.category_code,
        "records_sought": req.records_sought,
        "purpose": req.purpose,
        "applied_at": req.created_at.isoformat(),
    }
    try:
        # Outside any transaction: the partner may be slow, or be this very server.
        _call(req.partner, "/cross-requests", payload)
    except PartnerError as exc:
        with transaction.atomic():
            req = _locked(req)
            req.forward_error = str(exc)
            req.save(update_fields=["forward_error", "updated_at"])
            _event(req, "forward_failed", actor, req.status, str(exc))
        raise
    with transaction.atomic():
        req = _locked(req)
        before = req.status
        req.status = CrossStatus.ASSISTING
        req.forward_error = ""
        req.applicant_id_encrypted = ""  # handed over; no longer needed here
        req.due_on = _add_working_days(timezone.localdate(), due_days()["assisting"])
        req.save()
        _event(req, "forward", actor, before, req.holding_name)
    return req


def receive(partner: PartnerArchive, payload: dict[str, Any]) -> tuple[CrossRequest, bool]:
    """An incoming request from ``partner`` (API). Returns (request, created); the same
    number sent again returns the first one (idempotent retries)."""
    portal = _portal()
    errors: dict[str, list[str]] = {}
    number = str(payload.get("number") or "").strip()[:40]
    if not number:
        errors["number"] = [_("缺少申请编号。")]
    name = str(payload.get("applicant_name") or "").strip()
    if not name:
        errors["applicant_name"] = [_("缺少申请人姓名。")]
    try:
        id_number = portal.validate_id_number(str(payload.get("applicant_id_number") or ""))
    except ValidationError as exc:
        errors["applicant_id_number"] = exc.messages
        id_number = ""
    for key in ("records_sought", "purpose"):
        if not str(payload.get(key) or "").strip():
            errors[key] = [_("必须填写。")]
    if errors:
        raise ValidationError(errors)
    existing = CrossRequest.objects.filter(
        direction=Direction.INCOMING, partner=partner, number=number
    ).first()
    if existing is not None:
        return existing, False
    id_hash = portal.id_number_hash(id_number)
    today = timezone.localdate()
    req = CrossRequest(
        number=number,
        direction=Direction.INCOMING,
        partner=partner,
        receiving_code=partner.code,
        receiving_name=str(payload.get("receiving_name") or partner.name)[:100],
        holding_code=archive_code(),
        holding_name=archive_name(),
        applicant_name=name[:50],
        applicant_id_hash=id_hash,
        applicant_id_masked=portal.mask_id_number(id_number),
        category_code=str(payload.get("category_code") or "")[:8],
        records_sought=str(payload["records_sought"])[:2000],
        purpose=str(payload["purpose"])[:200],
        status=CrossStatus.ASSISTING,
        due_on=_add_working_days(today, due_days()["assisting"]),
    )
    # The person index suggests the records for the answering archivist.
    found = PersonRef.objects.filter(name=persons.normalise_name(name), id_hash=id_hash)
    try:
        with transaction.atomic():
            req.save()
            req.items.set(Item.objects.filter(pk__in=found.values("item_id")))
            _event(req, "receive", None, "", partner.name, username=f"partner:{partner.code}")
    except IntegrityError:
        return CrossRequest.objects.get(
            direction=Direction.INCOMING, partner=partner, number=number
        ), False
    return req, True


def _certificate_pdf(req: CrossRequest, items: list[Item]) -> bytes:
    """档案证明 (the copy carries the 档案利用章, date and 档号)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from lantai.ingest.report_pdf import _font

    font = _font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"档案证明 {req.number}")
    width, height = A4
    pdf.setFont(font, 20)
    pdf.drawCentredString(width / 2, height - 30 * mm, "档案证明")
    pdf.setFont(font, 11)
    y = height - 45 * mm
    lines = [
        f"编号：{req.number}",
        f"申请人：{req.applicant_name}（身份证号 {req.applicant_id_masked}）",
        f"受理馆：{req.receiving_name}    出证馆：{archive_name()}",
        f"所需档案：{req.records_sought[:60]}",
        "经查，本馆保存有下列档案：",
    ]
    for item in items:
        lines.append(f"  档号 {item.reference_code or '—'}  {item.year}年  {item.title[:40]}")
    lines += [
        "",
        "特此证明。",
        "",
        f"{archive_name()}（档案利用章）",
        f"{timezone.localdate():%Y年%m月%d日}",
    ]
    for line in lines:
        pdf.drawString(25 * mm, y, line)
        y -= 8 * mm
        if y < 30 * mm:
            pdf.showPage()
            pdf.setFont(font, 11)
            y = height - 30 * mm
    pdf.setStrokeColorRGB(0.8, 0.1, 0.1)
    pdf.setLineWidth(2)
    pdf.circle(width - 55 * mm, y + 20 * mm, 18 * mm)
    pdf.setFillColorRGB(0.8, 0.1, 0.1)
    pdf.setFont(font, 9)
    pdf.drawCentredString(width - 55 * mm, y + 19 * mm, "档案利用章")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _store_certificate(req: CrossRequest, data: bytes):
    from lantai.storage import services as storage

    digest = hashlib.sha256(data).hexdigest()[:16]
    key = f"livelihood/certificates/{req.pk}-{digest}.pdf"
    return storage.put_file(io.BytesIO(data), key, purpose="livelihood-certificate")


def answer(
    actor, req: CrossRequest, *, found: bool, note: str = "", item_ids: list[int] | None = None
) -> CrossRequest:
    """协办答复 by the holding archive (incoming or local): 查有档案 with a certificate PDF
    naming the records, or 查无档案. An incoming request's answer is then sent back to the
    receiving archive (``send_answer``)."""
    require(actor, MANAGE)
    items: list[Item] = []
    if found:
        ids = item_ids if item_ids is not None else list(req.items.values_list("pk", flat=True))
        items = list(visible_items(actor).filter(pk__in=ids).order_by("year", "pk"))
        if not items:
            raise ValidationError({"items": [_("查有档案时请至少选择一件档案。")]})
    with transaction.atomic():
        req = _locked(req)
        if req.direction == Direction.OUTGOING or req.status != CrossStatus.ASSISTING:
            raise _refuse(_("只有协办中的申请可以答复。"))
        before = req.status
        req.result = CrossResult.FOUND if found else CrossResult.NOT_FOUND
        req.answer_note = (note or "").strip()[:2000]
        req.reference_codes = "\n".join(i.reference_code or "" for i in items)
        if found:
            req.items.set(items)
            req.certificate = _store_certificate(req, _certificate_pdf(req, items))
        req.status = CrossStatus.ANSWERED
        req.due_on = _add_working_days(timezone.localdate(), due_days()["answered"])
        req.save()
        _event(req, "answer", actor, before, req.get_result_display())
    if req.direction == Direction.INCOMING:
        # A failure is kept in answer_error; the queue shows it and offers a retry.
        with contextlib.suppress(PartnerError):
            req = send_answer(actor, req)
    return req


def send_answer(actor, req: CrossRequest) -> CrossRequest:
    """Send an incoming request's answer back to the receiving archive; on success our part
    is 办结. On failure ``answer_error`` is set (retry later) and PartnerError raised."""
    require(actor, MANAGE)
    req.refresh_from_db()
    if req.direction != Direction.INCOMING or req.status != CrossStatus.ANSWERED:
        raise _refuse(_("只有已答复、待回传的申请可以回传。"))
    payload: dict[str, Any] = {
        "result": req.result,
        "note": req.answer_note,
        "reference_codes": [c for c in req.reference_codes.split("\n") if c],
        "holding_code": archive_code(),
        "holding_name": archive_name(),
    }
    if req.certificate_id:
        from lantai.storage import services as storage

        with storage.open_object(req.certificate) as fh:
            payload["certificate_pdf"] = base64.b64encode(fh.read()).decode("ascii")
    try:
        _call(req.partner, f"/cross-requests/{req.number}/answer", payload)
    except PartnerError as exc:
        with transaction.atomic():
            req = _locked(req)
            req.answer_error = str(exc)
            req.save(update_fields=["answer_error", "updated_at"])
            _event(req, "answer_send_failed", actor, req.status, str(exc))
        raise
    with transaction.atomic():
        req = _locked(req)
        before = req.status
        req.status = CrossStatus.DONE
        req.answer_error = ""
        req.due_on = None
        req.save()
        _event(req, "answer_sent", actor, before, req.receiving_name)
    return req


def receive_answer(partner: PartnerArchive, number: str, payload: dict[str, Any]) -> CrossRequest:
    """The holding archive's answer to a request we forwarded (API)."""
    req = CrossRequest.objects.filter(
        direction=Direction.OUTGOING, partner=partner, number=number
    ).first()
    if req is None:
        raise CrossRequest.DoesNotExist
    result = str(payload.get("result") or "")
    if result not in (CrossResult.FOUND, CrossResult.NOT_FOUND):
        raise ValidationError({"result": [_("答复结果应为 found 或 not_found。")]})
    pdf = b""
    if payload.get("certificate_pdf"):
        try:
            pdf = base64.b64decode(str(payload["certificate_pdf"]), validate=True)
        except ValueError:
            raise ValidationError({"certificate_pdf": [_("档案证明不是有效的 base64。")]}) from None
        if not pdf.startswith(b"%PDF"):
            raise ValidationError({"certificate_pdf": [_("档案证明应为 PDF 文件。")]})
    if result == CrossResult.FOUND and not pdf:
        raise ValidationError({"certificate_pdf": [_("查有档案时须附档案证明。")]})
    with transaction.atomic():
        req = _locked(req)
        if req.status == CrossStatus.ANSWERED and req.result == result:
            return req  # the same answer sent twice
        if req.status != CrossStatus.ASSISTING:
            raise _refuse(_("该申请当前不接受答复。"))
        before = req.status
        req.result = result
        req.answer_note = str(payload.get("note") or "")[:2000]
        codes = payload.get("reference_codes") or []
        req.reference_codes = "\n".join(str(c)[:100] for c in codes if c)[:5000]
        if pdf:
            req.certificate = _store_certificate(req, pdf)
        req.status = CrossStatus.ANSWERED
        req.due_on = _add_working_days(timezone.localdate(), due_days()["answered"])
        req.save()
        _event(
            req, "answer_received", None, before, partner.name, username=f"partner:{partner.code}"
        )
    return req


def conclude(actor, req: CrossRequest, note: str = "") -> CrossRequest:
    """办结: the applicant has been told (within 2 working days of the answer). 查无档案
    ends as 无档."""
    require(actor, MANAGE)
    with transaction.atomic():
        req = _locked(req)
        if req.direction == Direction.INCOMING or req.status != CrossStatus.ANSWERED:
            raise _refuse(_("只有已答复的申请可以办结。"))
        before = req.status
        req.status = CrossStatus.DONE if req.result == CrossResult.FOUND else CrossStatus.NO_RECORD
        req.due_on = None
        req.save()
        _event(req, "conclude", actor, before, note or _("已告知申请人"))
    return req


def open_certificate(user, req: CrossRequest):
    """The certificate PDF for the applicant (once 办结) or staff; audited."""
    if req.certificate_id is None:
        raise CrossRequest.DoesNotExist
    is_owner = req.applicant_id is not None and getattr(user, "pk", None) == req.applicant_id
    if not has(user, MANAGE) and (not is_owner or req.status != CrossStatus.DONE):
        raise PermissionDenied(_("您无权下载该档案证明。"))
    from lantai.storage import services as storage

    record(AuditAction.DOWNLOAD, actor=user, obj=req, detail={"event": "certificate"})
    return storage.open_object(req.certificate)
