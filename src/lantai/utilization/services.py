"""Use request services 利用服务: applying, the staff queue and its state machine, due dates in
working days, explicit approval of non-public records, delivery (watermarked electronic copies
电子副本, certified copies 档案证明), verification, downloads and reminders.

Every write checks permission here and appends an audit entry in the same transaction. A
citizen 社会公众 sees only their own requests (``requests_of``); staff holding
``utilization.handle_request`` see all. Bad input raises ``ValidationError`` with Chinese
messages and nothing is saved.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import changes, record
from lantai.core.permissions import has, require
from lantai.holdings.models import Item
from lantai.holdings.services import visible_items
from lantai.storage import services as storage
from lantai.storage.models import ComponentRole
from lantai.utilization import codes, delivery
from lantai.utilization.models import (
    OPEN_STATUSES,
    Attachment,
    Certificate,
    Delivery,
    ECopy,
    Holiday,
    Purpose,
    RequestedItem,
    RequestEvent,
    RequestStatus,
    UseRequest,
)
from lantai.utilization.workdays import add_working_days, due_days

HANDLE = "utilization.handle_request"
PURPOSE_KEY = "utilization"

#: The built-in list of 利用目的; the table starts with it and the archive may edit it.
DEFAULT_PURPOSES = [
    ("verify", "查证"),
    ("history", "编史修志"),
    ("research", "学术研究"),
    ("work", "工作查考"),
    ("personal", "个人其他"),
]

MAX_CODES = 50
MAX_ATTACHMENTS = 5
ATTACHMENT_MIMES = {"application/pdf", "image/png", "image/jpeg"}
MAX_DESCRIPTION = 2000
MAX_CONTENT = 2000


def attachment_max_bytes() -> int:
    return int(getattr(settings, "LANTAI_USE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def ecopy_days() -> int:
    """Days the requester may download electronic copies after they were provided."""
    return int(getattr(settings, "LANTAI_USE_ECOPY_DAYS", 30))


# --- who sees what -----------------------------------------------------------------------------


def is_handler(user) -> bool:
    return user is not None and has(user, HANDLE)


def requests_of(user) -> QuerySet[UseRequest]:
    """The requests ``user`` made themselves (the portal's 我的申请), newest first."""
    if user is None or not getattr(user, "is_authenticated", False):
        return UseRequest.objects.none()
    return UseRequest.objects.filter(applicant=user).select_related("purpose")


def visible_requests(user) -> QuerySet[UseRequest]:
    """All requests for staff who handle them, else only the user's own."""
    if user is None or is_handler(user):
        return UseRequest.objects.select_related("purpose", "assignee", "applicant")
    return requests_of(user)


def get_request(user, pk) -> UseRequest:
    """Request ``pk`` if ``user`` may see it, else UseRequest.DoesNotExist (never revealed)."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise UseRequest.DoesNotExist from None
    return visible_requests(user).get(pk=key)


def public_items() -> QuerySet[Item]:
    """What anyone may see: open and public items (the same rule as the portal)."""
    return visible_items(AnonymousUser())


def is_providable(requested: RequestedItem) -> bool:
    """An open, public record, or one staff explicitly approved for this request 特批."""
    if requested.item_id is None:
        return False
    if requested.approved:
        return True
    return public_items().filter(pk=requested.item_id).exists()


def item_title_for(user, requested: RequestedItem) -> str:
    """The record's title if ``user`` may see it; otherwise nothing (existence not revealed)."""
    if requested.item_id is None:
        return ""
    if is_handler(user) or requested.approved:
        return requested.item.title if requested.item else ""
    return (
        visible_items(user).filter(pk=requested.item_id).values_list("title", flat=True).first()
        or ""
    )


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: enough to recognise, not enough to identify."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name or "*"
    return name[0] + "*" * (len(name) - 1)


def mask_id(value: str) -> str:
    value = (value or "").strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


# --- purposes ----------------------------------------------------------------------------------


def active_purposes() -> QuerySet[Purpose]:
    return Purpose.objects.filter(active=True)


def ensure_purposes() -> None:
    """Create the built-in 利用目的 rows that are missing (run by the app's migration)."""
    for order, (code, name) in enumerate(DEFAULT_PURPOSES, start=1):
        Purpose.objects.get_or_create(code=code, defaults={"name": name, "sort_order": order * 10})


# --- applying ----------------------------------------------------------------------------------


@dataclass
class Upload:
    """A file handed in with an application (identity proof, authorisation letter …)."""

    filename: str
    data: BinaryIO | bytes
    mime: str = ""


def _applicant_fields(user) -> dict[str, str]:
    """Name, ID and phone of a citizen, from the portal's real-name profile when present."""
    name = getattr(user, "real_name", "") or ""
    id_number = ""
    phone = getattr(user, "phone", "") or ""
    try:
        from lantai.portal.services import citizen_profile
    except ImportError:
        citizen_profile = None
    if citizen_profile is not None:
        profile = citizen_profile(user)
        if profile is not None:
            get = (
                profile.get if isinstance(profile, dict) else lambda k, d="": getattr(profile, k, d)
            )
            name = get("real_name", "") or name
            # Only the masked number: the portal keeps the real one encrypted.
            id_number = get("id_masked", "") or get("masked_id", "") or ""
            phone = get("phone", "") or phone
    return {
        "applicant_name": (name or user.get_username())[:50],
        "applicant_id_number": id_number[:32],
        "applicant_phone": phone[:20],
    }


def _split_codes(reference_codes: Iterable[str] | str) -> list[str]:
    if isinstance(reference_codes, str):
        reference_codes = re.split(r"[\s,，;；、]+", reference_codes)
    seen: dict[str, None] = {}
    for code in reference_codes:
        code = (code or "").strip()
        if code:
            seen.setdefault(code[:100], None)
    return list(seen)


def _next_number(today: date) -> str:
    prefix = f"LY{today:%Y}-"
    last = (
        UseRequest.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:06d}"


def _safe_name(filename: str) -> str:
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", (filename or "").strip()).lstrip(".")
    return (name or "file")[-120:]


def _read_upload(upload: Upload) -> bytes:
    data = upload.data
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    limit = attachment_max_bytes()
    chunk = data.read(limit + 1)
    return chunk


def _sniff(data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return ""


def _event(req: UseRequest, action: str, actor, before: str, note: str = "") -> None:
    RequestEvent.objects.create(
        request=req,
        action=action,
        from_status=before,
        to_status=req.status,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note,
    )


def _set_due(req: UseRequest, today: date) -> None:
    days = due_days()
    if req.status in OPEN_STATUSES and req.status in days:
        req.due_date = add_working_days(today, int(days[req.status]))
    else:
        req.due_date = None


def submit_request(
    actor,
    *,
    purpose: Purpose | str | int,
    delivery_wanted: str,
    description: str = "",
    reference_codes: Iterable[str] | str = (),
    uploads: Sequence[Upload] = (),
    walk_in: dict[str, str] | None = None,
) -> UseRequest:
    """File a use request 提交利用申请.

    A citizen applies for themselves; staff holding handle_request may record a walk-in
    applicant 到馆登记 (``walk_in`` = {"name", "id_number", "phone"}). Either 档号s or a
    description of what is needed must be given.
    """
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("请先登录。"))
    if walk_in is not None:
        require(actor, HANDLE)
    errors: dict[str, list[str]] = defaultdict(list)
    if not isinstance(purpose, Purpose):
        purpose = active_purposes().filter(Q(code=str(purpose)) | Q(pk=_int(purpose))).first()
    if purpose is None or not purpose.active:
        errors["purpose"].append(_("请选择利用目的。"))
    if delivery_wanted not in Delivery.values:
        errors["delivery"].append(_("请选择利用方式。"))
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"].append(_("需求说明不能超过 %(n)d 个字。") % {"n": MAX_DESCRIPTION})
    code_list = _split_codes(reference_codes)
    if len(code_list) > MAX_CODES:
        errors["reference_codes"].append(_("一次最多申请 %(n)d 个档号。") % {"n": MAX_CODES})
    if not code_list and not description:
        errors["description"].append(_("请填写档号或描述所需档案。"))
    applicant_fields: dict[str, str]
    if walk_in is not None:
        name = (walk_in.get("name") or "").strip()
        id_number = (walk_in.get("id_number") or "").strip().upper()
        phone = (walk_in.get("phone") or "").strip()
        if not name:
            errors["applicant_name"].append(_("请填写申请人姓名。"))
        if not id_number:
            errors["applicant_id_number"].append(_("请填写申请人证件号码。"))
        elif not re.fullmatch(r"[0-9A-Z]{6,32}", id_number):
            errors["applicant_id_number"].append(_("证件号码格式不正确。"))
        if phone and not re.fullmatch(r"[0-9+\- ]{5,20}", phone):
            errors["applicant_phone"].append(_("联系电话格式不正确。"))
        applicant_fields = {
            "applicant_name": name[:50],
            # Staff saw the card; keeping only a mask means a leak of this table reveals no ID.
            "applicant_id_number": mask_id(id_number)[:32],
            "applicant_phone": phone[:20],
        }
    else:
        applicant_fields = _applicant_fields(actor)
    if len(uploads) > MAX_ATTACHMENTS:
        errors["attachments"].append(_("最多上传 %(n)d 个附件。") % {"n": MAX_ATTACHMENTS})
    files: list[tuple[str, bytes, str]] = []
    for upload in uploads[:MAX_ATTACHMENTS]:
        data = _read_upload(upload)
        name = _safe_name(upload.filename)
        mime = _sniff(data)
        if len(data) > attachment_max_bytes():
            errors["attachments"].append(
                _("附件“%(name)s”超过 %(mb)d MB。")
                % {"name": name, "mb": attachment_max_bytes() // (1024 * 1024)}
            )
        elif not data:
            errors["attachments"].append(_("附件“%(name)s”是空文件。") % {"name": name})
        elif mime not in ATTACHMENT_MIMES:
            errors["attachments"].append(
                _("附件“%(name)s”须为 PDF、PNG 或 JPEG 文件。") % {"name": name}
            )
        else:
            files.append((name, data, mime))
    if errors:
        raise ValidationError(dict(errors))

    items = {i.reference_code: i for i in Item.objects.filter(reference_code__in=code_list)}
    today = timezone.localdate()
    # One transaction for the whole application: a failure storing an attachment leaves no
    # request behind. The number is taken in a savepoint, retried if another took it.
    with transaction.atomic():
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    req = UseRequest.objects.create(
                        number=_next_number(today),
                        applicant=None if walk_in is not None else actor,
                        walk_in=walk_in is not None,
                        purpose=purpose,
                        description=description,
                        delivery=delivery_wanted,
                        status=RequestStatus.SUBMITTED,
                        final_due_date=add_working_days(today, int(due_days()["total"])),
                        **applicant_fields,
                    )
                break
            except IntegrityError:
                continue  # another application took the number: read the last one again
        else:
            raise ValidationError({"__all__": [_("申请编号分配失败，请重试。")]})
        _set_due(req, today)
        req.save(update_fields=["due_date"])
        for code in code_list:
            RequestedItem.objects.create(request=req, reference_code=code, item=items.get(code))
        for name, data, mime in files:
            stored = storage.put_file(
                io.BytesIO(data),
                f"utilization/{req.number}/attachments/{uuid.uuid4().hex}-{name}",
                purpose=PURPOSE_KEY,
            )
            Attachment.objects.create(request=req, object=stored, filename=name, mime=mime)
        _event(req, "submit", actor, "", _("到馆登记") if walk_in is not None else "")
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=req,
            detail={
                "event": "use_request.submit",
                "purpose": purpose.code,
                "delivery": delivery_wanted,
                "codes": code_list,
                "walk_in": walk_in is not None,
                "attachments": [f[0] for f in files],
            },
        )
    return req


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- the state machine -------------------------------------------------------------------------

#: action → (states it may start from, state it leads to, label)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": ((RequestStatus.SUBMITTED,), RequestStatus.ACCEPTED),
    "approve": ((RequestStatus.ACCEPTED,), RequestStatus.APPROVED),
    "provide": ((RequestStatus.APPROVED,), RequestStatus.PROVIDED),
    "close": ((RequestStatus.PROVIDED,), RequestStatus.CLOSED),
    "return": (
        (RequestStatus.SUBMITTED, RequestStatus.ACCEPTED, RequestStatus.APPROVED),
        RequestStatus.RETURNED,
    ),
    "refuse": ((RequestStatus.ACCEPTED, RequestStatus.APPROVED), RequestStatus.REFUSED),
}
NEEDS_REASON = ("return", "refuse")
STAMP = {
    "accept": "accepted_at",
    "approve": "approved_at",
    "provide": "provided_at",
    "close": "closed_at",
    "return": "closed_at",
    "refuse": "closed_at",
}


def action_label(action: str) -> str:
    labels = {
        "submit": _("提交申请"),
        "accept": _("受理"),
        "approve": _("审核通过"),
        "provide": _("提供"),
        "close": _("办结"),
        "return": _("退回"),
        "refuse": _("不予提供"),
        "assign": _("指派经办人"),
        "approve_item": _("特批提供"),
        "add_item": _("补充档号"),
        "certificate": _("出具档案证明"),
        "revoke": _("作废档案证明"),
    }
    return labels.get(action, action)


def allowed_actions(req: UseRequest) -> list[str]:
    return [a for a, (sources, _to) in TRANSITIONS.items() if req.status in sources]


def _locked(req: UseRequest) -> UseRequest:
    return UseRequest.objects.select_for_update().get(pk=req.pk)


def transition(actor, req: UseRequest, action: str, *, note: str = "", assignee=None) -> UseRequest:
    """Move ``req`` by ``action`` (accept/approve/provide/close/return/refuse).

    Illegal moves are refused with a Chinese message; 退回 and 不予提供 need a reason; 提供
    makes the deliverables (electronic copies, or checks that a certificate was issued).
    """
    require(actor, HANDLE)
    if action not in TRANSITIONS:
        raise ValidationError({"action": [_("未知的办理操作：%(a)s") % {"a": action}]})
    note = (note or "").strip()
    with transaction.atomic():
        req = _locked(req)
        sources, target = TRANSITIONS[action]
        if req.status not in sources:
            raise ValidationError(
                {
                    "action": [
                        _("申请当前为“%(status)s”，不能“%(action)s”。")
                        % {"status": req.get_status_display(), "action": action_label(action)}
                    ]
                }
            )
        if action in NEEDS_REASON and not note:
            raise ValidationError(
                {"note": [_("请填写%(action)s理由。") % {"action": action_label(action)}]}
            )
        before = req.status
        now = timezone.now()
        detail: dict = {"event": f"use_request.{action}", "from": before, "to": str(target)}
        if action == "accept":
            req.assignee = assignee or req.assignee or actor
            detail["assignee"] = req.assignee.get_username()
        if action == "provide":
            detail.update(_provide(actor, req, now))
        if action in NEEDS_REASON:
            req.reason = note
        req.status = target
        setattr(req, STAMP[action], now)
        _set_due(req, timezone.localdate())
        req.save()
        _event(req, action, actor, before, note)
        if note:
            detail["note"] = note
        record(AuditAction.UPDATE, actor=actor, obj=req, detail=detail)
    return req


def assign(actor, req: UseRequest, assignee) -> UseRequest:
    """指派经办人: the assignee must be an active user who handles requests."""
    require(actor, HANDLE)
    if assignee is None or not assignee.is_active or not has(assignee, HANDLE):
        raise ValidationError({"assignee": [_("经办人须为有权办理利用申请的在用账户。")]})
    with transaction.atomic():
        req = _locked(req)
        if not req.is_open:
            raise ValidationError({"assignee": [_("申请已结束，不能再指派。")]})
        previous = req.assignee.get_username() if req.assignee else ""
        req.assignee = assignee
        req.save(update_fields=["assignee"])
        _event(req, "assign", actor, req.status, assignee.get_username())
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=req,
            detail={"event": "use_request.assign", "assignee": [previous, assignee.get_username()]},
        )
    return req


def handlers() -> QuerySet:
    """Active accounts that may handle requests (for the assignee list)."""
    User = get_user_model()
    users = User.objects.filter(is_active=True).order_by("username")
    return users.filter(
        Q(
            groups__permissions__codename="handle_request",
            groups__permissions__content_type__app_label="utilization",
        )
        | Q(
            user_permissions__codename="handle_request",
            user_permissions__content_type__app_label="utilization",
        )
        | Q(is_superuser=True)
    ).distinct()


def add_item(actor, req: UseRequest, reference_code: str) -> RequestedItem:
    """补充档号: staff add a record they found for a described need."""
    require(actor, HANDLE)
    code = (reference_code or "").strip()[:100]
    if not code:
        raise ValidationError({"reference_code": [_("请填写档号。")]})
    item = visible_items(actor).filter(reference_code=code).first()
    if item is None:
        raise ValidationError(
            {"reference_code": [_("未找到档号为“%(code)s”的档案。") % {"code": code}]}
        )
    with transaction.atomic():
        req = _locked(req)
        if req.status not in (
            RequestStatus.SUBMITTED,
            RequestStatus.ACCEPTED,
            RequestStatus.APPROVED,
        ):
            raise ValidationError({"reference_code": [_("申请已提供或已结束，不能再补充档号。")]})
        requested, created = RequestedItem.objects.get_or_create(
            request=req, reference_code=code, defaults={"item": item}
        )
        if not created:
            raise ValidationError({"reference_code": [_("该档号已在申请中。")]})
        _event(req, "add_item", actor, req.status, code)
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=req,
            detail={"event": "use_request.add_item", "code": code},
        )
    return requested


def approve_item(actor, requested: RequestedItem, reason: str) -> RequestedItem:
    """特批提供: staff decide to provide a record the public may not see to this applicant only.

    The decision and its reason are kept on the row and in the audit trail.
    """
    require(actor, HANDLE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("请填写特批理由。")]})
    if requested.item_id is None:
        raise ValidationError({"reason": [_("馆藏中没有该档号，无法特批。")]})
    if not visible_items(actor).filter(pk=requested.item_id).exists():
        raise PermissionDenied(_("您无权查看该档案，不能特批提供。"))
    with transaction.atomic():
        req = _locked(requested.request)
        if req.status not in (RequestStatus.ACCEPTED, RequestStatus.APPROVED):
            raise ValidationError({"reason": [_("只有已受理、未提供的申请可以特批档案。")]})
        requested = RequestedItem.objects.select_for_update().get(pk=requested.pk)
        requested.approved = True
        requested.approval_reason = reason[:300]
        requested.approved_by = actor
        requested.approved_at = timezone.now()
        requested.save()
        _event(req, "approve_item", actor, req.status, f"{requested.reference_code}：{reason}")
        record(
            AuditAction.PERMISSION_CHANGE,
            actor=actor,
            obj=req,
            detail={
                "event": "use_request.approve_item",
                "code": requested.reference_code,
                "item": requested.item_id,
                "reason": reason,
            },
        )
    return requested


# --- delivery ----------------------------------------------------------------------------------


def watermark_text(req: UseRequest, when: datetime | None = None) -> str:
    when = timezone.localtime(when or timezone.now())
    return _("%(archive)s 利用副本 %(name)s %(date)s") % {
        "archive": settings.LANTAI_ARCHIVE_NAME,
        "name": req.applicant_name,
        "date": f"{when:%Y-%m-%d}",
    }


def _provide(actor, req: UseRequest, now: datetime) -> dict:
    """Make or check the deliverables, inside the transition's transaction."""
    requested = list(req.items.select_related("item"))
    blocked = [r.reference_code for r in requested if r.item_id and not is_providable(r)]
    if req.delivery in (Delivery.ECOPY, Delivery.CERTIFICATE) and blocked:
        raise ValidationError(
            {
                "action": [
                    _("以下档案未开放，须先特批或移出申请：%(codes)s")
                    % {"codes": "、".join(blocked)}
                ]
            }
        )
    if req.delivery == Delivery.CERTIFICATE:
        if not req.certificates.filter(revoked=False).exists():
            raise ValidationError({"action": [_("请先出具档案证明，再提供。")]})
        return {"certificates": req.certificates.filter(revoked=False).count()}
    if req.delivery == Delivery.ECOPY:
        made = _make_ecopies(req, [r for r in requested if r.item_id], now)
        if not made:
            raise ValidationError(
                {"action": [_("所列档案没有可加水印的利用件，无法提供电子副本。")]}
            )
        req.ecopy_expires_at = now + timedelta(days=ecopy_days())
        return {"ecopies": [e.filename for e in made]}
    return {}


def _make_ecopies(req: UseRequest, requested: list[RequestedItem], now: datetime) -> list[ECopy]:
    text = watermark_text(req, now)
    made: list[ECopy] = []
    for entry in requested:
        components = entry.item.components.filter(role=ComponentRole.ACCESS).select_related(
            "object"
        )
        for component in components:
            mime = component.mime or mimetypes.guess_type(component.filename)[0] or ""
            if not delivery.can_watermark(mime):
                continue
            try:
                with storage.open_object(component.object) as fh:
                    data = fh.read()
                marked = delivery.watermark(data, mime, text)
            except (storage.StorageError, ValueError, OSError) as exc:
                # A damaged or unreadable access copy must not be half-delivered: say which.
                raise ValidationError(
                    {
                        "action": [
                            _("利用件“%(name)s”无法生成电子副本：%(error)s")
                            % {"name": component.filename, "error": exc}
                        ]
                    }
                ) from exc
            # The watermarker may re-encode (e.g. TIFF to PNG): name and type follow the bytes.
            out_mime = _sniff(marked) or mime
            filename = component.filename
            if out_mime != mime:
                ext = mimetypes.guess_extension(out_mime) or ""
                filename = filename.rsplit(".", 1)[0] + ext
            mime = out_mime
            name = _safe_name(f"{entry.reference_code}-{filename}")
            stored = storage.put_file(
                io.BytesIO(marked),
                f"utilization/{req.number}/ecopies/{uuid.uuid4().hex}-{name}",
                purpose=PURPOSE_KEY,
            )
            made.append(
                ECopy.objects.create(
                    request=req,
                    requested_item=entry,
                    object=stored,
                    filename=name,
                    mime=mime,
                    watermark=text[:200],
                )
            )
    return made


def verify_base_url() -> str:
    """Where the public reaches this archive (printed in QR codes when no request is at hand)."""
    return (
        getattr(settings, "LANTAI_PUBLIC_URL", "")
        or os.environ.get("LANTAI_BASE_URL", "")
        or "http://127.0.0.1:8000"
    ).rstrip("/")


def verify_url(code: str, base_url: str | None = None) -> str:
    from django.urls import reverse

    path = reverse("utilization_public:verify_code", args=[code])
    return (base_url or verify_base_url()).rstrip("/") + path


def issue_certificate(
    actor,
    requested: RequestedItem,
    content: str,
    *,
    base_url: str | None = None,
) -> tuple[Certificate, str]:
    """出具档案证明 for one listed record: the PDF with verification code and QR code, signed
    when a PKCS#12 key is configured. Returns the certificate and its code (shown once)."""
    require(actor, HANDLE)
    content = (content or "").strip()
    if not content:
        raise ValidationError({"content": [_("请填写证明内容。")]})
    if len(content) > MAX_CONTENT:
        raise ValidationError(
            {"content": [_("证明内容不能超过 %(n)d 个字。") % {"n": MAX_CONTENT}]}
        )
    if requested.item_id is None:
        raise ValidationError({"content": [_("馆藏中没有该档号，不能出具证明。")]})
    if not is_providable(requested):
        raise ValidationError({"content": [_("该档案未开放，须先特批才能出具证明。")]})
    with transaction.atomic():
        req = _locked(requested.request)
        if req.status not in (RequestStatus.APPROVED, RequestStatus.PROVIDED):
            raise ValidationError({"content": [_("申请审核通过后才能出具档案证明。")]})
        item = requested.item
        code = codes.new_code()
        issued_at = timezone.localtime()
        pdf = delivery.certificate_pdf(
            delivery.CertificateText(
                archive_name=settings.LANTAI_ARCHIVE_NAME,
                request_number=req.number,
                reference_code=item.reference_code or requested.reference_code,
                title=item.title,
                content=content,
                requester=req.applicant_name,
                issued_at=issued_at,
                code_display=codes.display(code),
                verify_url=verify_url(code, base_url),
            )
        )
        signed = False
        if delivery.signing_configured():
            pdf = delivery.sign_pdf(
                pdf, reason=_("档案证明"), location=settings.LANTAI_ARCHIVE_NAME
            )
            signed = True
        digest = hashlib.sha256(pdf).hexdigest()
        stored = storage.put_file(
            io.BytesIO(pdf),
            f"utilization/{req.number}/certificates/{uuid.uuid4().hex}.pdf",
            purpose=PURPOSE_KEY,
        )
        cert = Certificate.objects.create(
            request=req,
            requested_item=requested,
            code_hash=codes.code_hash(code),
            code_tail=code[-4:],
            reference_code=item.reference_code or requested.reference_code,
            title=item.title[:500],
            content=content,
            requester_name=req.applicant_name,
            object=stored,
            sha256=digest,
            signed=signed,
            issued_by=actor if getattr(actor, "pk", None) else None,
            issued_at=issued_at,
        )
        _event(req, "certificate", actor, req.status, cert.reference_code)
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=cert,
            detail={
                "event": "use_request.certificate",
                "request": req.number,
                "code": cert.reference_code,
                "sha256": digest,
                "signed": signed,
            },
        )
    return cert, code


def revoke_certificate(actor, cert: Certificate, reason: str) -> Certificate:
    """作废档案证明: the verification page then rejects its code; the PDF stays stored."""
    require(actor, HANDLE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("请填写作废理由。")]})
    with transaction.atomic():
        cert = Certificate.objects.select_for_update().get(pk=cert.pk)
        if cert.revoked:
            raise ValidationError({"reason": [_("该档案证明已作废。")]})
        cert.revoked = True
        cert.save(update_fields=["revoked"])
        _event(
            cert.request, "revoke", actor, cert.request.status, f"{cert.reference_code}：{reason}"
        )
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=cert,
            detail={"event": "use_request.revoke_certificate", "reason": reason},
        )
    return cert


# --- configuration: purposes and holidays ------------------------------------------------------


def save_purpose(
    actor,
    *,
    name: str,
    code: str = "",
    active: bool = True,
    sort_order: int = 100,
    purpose: Purpose | None = None,
) -> Purpose:
    """Add or change a 利用目的 (retired ones are made inactive, never deleted: requests keep
    pointing at them)."""
    require(actor, HANDLE)
    name = (name or "").strip()
    code = (code or "").strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 50:
        errors["name"] = [_("名称须为 1 到 50 个字。")]
    if purpose is None:
        if not re.fullmatch(r"[a-z0-9_-]{1,32}", code):
            errors["code"] = [_("代码须为 1 到 32 位小写字母、数字、下划线或连字符。")]
        elif Purpose.objects.filter(code=code).exists():
            errors["code"] = [_("代码“%(code)s”已存在。") % {"code": code}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        creating = purpose is None
        purpose = purpose or Purpose(code=code)
        before = {"name": purpose.name, "active": purpose.active, "sort_order": purpose.sort_order}
        purpose.name, purpose.active, purpose.sort_order = name, bool(active), int(sort_order)
        purpose.save()
        after = {"name": purpose.name, "active": purpose.active, "sort_order": purpose.sort_order}
        record(
            AuditAction.CREATE if creating else AuditAction.UPDATE,
            actor=actor,
            obj=purpose,
            detail={"event": "use_request.purpose", "changes": changes(before, after)},
        )
    return purpose


def save_holiday(actor, *, day: date, name: str = "", workday: bool = False) -> Holiday:
    """Add or change one day of the calendar (节假日, or 调休上班 for a worked weekend day)."""
    require(actor, HANDLE)
    if not isinstance(day, date):
        raise ValidationError({"date": [_("请填写日期。")]})
    with transaction.atomic():
        holiday, created = Holiday.objects.update_or_create(
            date=day, defaults={"name": (name or "").strip()[:50], "workday": bool(workday)}
        )
        record(
            AuditAction.CREATE if created else AuditAction.UPDATE,
            actor=actor,
            obj=holiday,
            detail={"event": "use_request.holiday", "workday": holiday.workday},
        )
    return holiday


def delete_holiday(actor, holiday: Holiday) -> None:
    require(actor, HANDLE)
    with transaction.atomic():
        record(
            AuditAction.DELETE, actor=actor, obj=holiday, detail={"event": "use_request.holiday"}
        )
        holiday.delete()


# --- verification ------------------------------------------------------------------------------


def find_certificate(code_text: str) -> Certificate | None:
    """The genuine, unrevoked certificate with this code, else None (forged or unknown)."""
    code = codes.normalise(code_text)
    if not codes.is_well_formed(code):
        return None
    return (
        Certificate.objects.filter(code_hash=codes.code_hash(code), revoked=False)
        .select_related("request")
        .first()
    )


def pdf_matches(cert: Certificate, data: bytes) -> bool:
    """Whether ``data`` is exactly the PDF issued (its SHA-256 matches)."""
    return hashlib.sha256(data).hexdigest() == cert.sha256


# --- downloads ---------------------------------------------------------------------------------


def _owner_or_handler(user, req: UseRequest) -> None:
    if is_handler(user):
        return
    if user is None or not getattr(user, "is_authenticated", False) or req.applicant_id != user.pk:
        # The caller turns this into a 404: a stranger learns nothing.
        raise UseRequest.DoesNotExist


def can_download_ecopies(req: UseRequest, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        req.status in (RequestStatus.PROVIDED, RequestStatus.CLOSED)
        and req.ecopy_expires_at is not None
        and now <= req.ecopy_expires_at
    )


def open_ecopy(user, ecopy: ECopy) -> BinaryIO:
    """The watermarked copy's bytes, for the requester while the download window is open
    (staff may always read it). Audited."""
    req = ecopy.request
    _owner_or_handler(user, req)
    if not is_handler(user) and not can_download_ecopies(req):
        raise PermissionDenied(_("电子副本已过下载期限或尚未提供。"))
    with transaction.atomic():
        ECopy.objects.filter(pk=ecopy.pk).update(downloads=ecopy.downloads + 1)
        record(
            AuditAction.DOWNLOAD,
            actor=user,
            obj=req,
            detail={"event": "use_request.ecopy", "file": ecopy.filename},
        )
    return storage.open_object(ecopy.object)


def open_certificate(user, cert: Certificate) -> BinaryIO:
    req = cert.request
    _owner_or_handler(user, req)
    if not is_handler(user) and (
        cert.revoked or req.status not in (RequestStatus.PROVIDED, RequestStatus.CLOSED)
    ):
        raise PermissionDenied(_("档案证明尚未提供。"))
    record(
        AuditAction.DOWNLOAD,
        actor=user,
        obj=req,
        detail={"event": "use_request.certificate_download", "certificate": cert.pk},
    )
    return storage.open_object(cert.object)


def open_attachment(user, attachment: Attachment) -> BinaryIO:
    _owner_or_handler(user, attachment.request)
    record(
        AuditAction.DOWNLOAD,
        actor=user,
        obj=attachment.request,
        detail={"event": "use_request.attachment", "file": attachment.filename},
    )
    return storage.open_object(attachment.object)


# --- due dates and reminders -------------------------------------------------------------------


def is_overdue(req: UseRequest, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return req.is_open and req.due_date is not None and today > req.due_date


def due_soon(today: date | None = None) -> QuerySet[UseRequest]:
    """Open requests whose current step is due by the next working day, or overdue."""
    today = today or timezone.localdate()
    horizon = add_working_days(today, 1)
    return UseRequest.objects.filter(status__in=OPEN_STATUSES, due_date__lte=horizon)


def send_reminders(now: datetime | None = None) -> dict:
    """E-mail each assignee the requests due within a working day or overdue 催办提醒.

    Unassigned requests go to every handler with an e-mail address. A request is reminded at
    most once per ``LANTAI_USE_REMIND_HOURS`` (default 20) so the hourly job does not nag.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    every = timedelta(hours=int(getattr(settings, "LANTAI_USE_REMIND_HOURS", 20)))
    pending = (
        due_soon(today)
        .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lte=now - every))
        .select_related("assignee")
        .order_by("due_date", "pk")
    )
    by_user: dict[int, tuple[object, list[UseRequest]]] = {}
    fallback = [u for u in handlers() if u.email]
    for req in pending:
        targets = [req.assignee] if req.assignee and req.assignee.email else fallback
        for user in targets:
            by_user.setdefault(user.pk, (user, []))[1].append(req)
    sent = 0
    for user, reqs in by_user.values():
        lines = []
        for req in reqs:
            state = _("已逾期") if is_overdue(req, today) else _("即将到期")
            lines.append(
                _("%(number)s %(name)s（%(status)s）期限 %(due)s，%(state)s")
                % {
                    "number": req.number,
                    "name": req.applicant_name,
                    "status": req.get_status_display(),
                    "due": f"{req.due_date:%Y-%m-%d}",
                    "state": state,
                }
            )
        overdue = sum(1 for r in reqs if is_overdue(r, today))
        subject = _("利用申请催办：%(n)d 件待办，其中 %(late)d 件已逾期") % {
            "n": len(reqs),
            "late": overdue,
        }
        send_mail(
            subject,
            "\n".join(lines),
            getattr(settings, "DEFAULT_FROM_EMAIL", None),
            [user.email],
            fail_silently=False,
        )
        sent += 1
    reminded = {r.pk for _u, reqs in by_user.values() for r in reqs}
    if reminded:
        UseRequest.objects.filter(pk__in=reminded).update(reminded_at=now)
    return {"mails": sent, "requests": len(reminded)}
