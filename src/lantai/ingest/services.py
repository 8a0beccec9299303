"""Online archiving services 在线归档服务: API tokens, receiving SIPs and the ingest pipeline.

A unit's office system (OA) sends a SIP 归档信息包 with its API token 接口令牌; ``receive_sip``
spools the upload to ``DATA_DIR/ingest/<id>/`` (temporary name, fsync, rename) and queues the
job ``ingest.process``, which runs ``process_sip``:

    received → checking (open, four-property checks 四性检测) → storing → stored
                                     ↘ failed (checks or metadata refused, with the report)
                                     ↘ error (something broke; the reason is kept)

Crash safety: the holdings item, the AIP bag and its registration (``aip.store_aip``) and the
SIP's *stored* status are written in ONE transaction, so a worker killed at any moment leaves
either all of them or none; files a killed transaction had already put into storage are
unreferenced and removed by ``storage.sweep_orphans``. ``Sip.stage`` names the last step done.
A SIP left half-way by a dead worker is found by ``recover_sips`` (at worker start, every
minute in the worker, and when SIPs are listed): it is resumed by a fresh job, from its spooled
upload, or after ``MAX_ATTEMPTS`` interrupted runs marked *error* with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import has, require
from lantai.holdings.models import Category, Fonds, Unit
from lantai.ingest.models import ApiToken, Sip, SipStatus
from lantai.storage.backends import sync_filesystem

log = logging.getLogger("lantai.ingest")

MANAGE_TOKENS = "ingest.manage_tokens"
SUBMIT = "ingest.submit_sip"
VIEW = "ingest.view_sip"
JOB_KIND = "ingest.process"

TOKEN_PREFIX = "lts_"  # noqa: S105 (a marker, not a secret)
#: Runs of one SIP's pipeline interrupted by a dead worker before it is marked *error*.
MAX_ATTEMPTS = 3
CHUNK = 1024 * 1024

FINAL = (SipStatus.STORED, SipStatus.FAILED, SipStatus.ERROR)
ACTIVE = (SipStatus.RECEIVED, SipStatus.CHECKING, SipStatus.STORING)

INTERRUPTED = gettext_noop("处理进程多次中断，已停止处理：%(reason)s")

Progress = Callable[..., None] | None


def max_upload_bytes() -> int:
    """Largest SIP accepted (LANTAI_INGEST_MAX_BYTES, default 20 GiB)."""
    value = getattr(settings, "LANTAI_INGEST_MAX_BYTES", None)
    if value is None:
        value = os.environ.get("LANTAI_INGEST_MAX_BYTES", str(20 * 1024**3))
    return int(value)


def ingest_root() -> Path:
    return Path(settings.DATA_DIR) / "ingest"


def sip_dir(sip: Sip | uuid.UUID | str) -> Path:
    pk = sip.pk if isinstance(sip, Sip) else sip
    return ingest_root() / str(pk)


# --- API tokens 接口令牌 -------------------------------------------------------------------------


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    actor, unit: Unit, name: str, *, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new API token for ``unit`` (系统管理员). The secret is returned once; only its hash
    is stored."""
    require(actor, MANAGE_TOKENS)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("请填写令牌名称。")]
    elif len(name) > 100:
        errors["name"] = [_("令牌名称不能超过 100 个字。")]
    if unit is None or not getattr(unit, "pk", None):
        errors["unit"] = [_("请选择单位。")]
    elif not unit.active:
        errors["unit"] = [_("该单位已停用。")]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [_("有效期应晚于当前时间。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for _attempt in range(5):
            raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
            prefix = raw[:12]
            if not ApiToken.objects.filter(key_prefix=prefix).exists():
                break
        token = ApiToken.objects.create(
            unit=unit,
            name=name,
            key_prefix=prefix,
            key_hash=_hash(raw),
            created_by=actor if getattr(actor, "pk", None) else None,
            expires_at=expires_at,
        )
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=token,
            detail={
                "event": "issue_token",
                "unit": unit.code,
                "name": name,
                "prefix": prefix,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return token, raw


def revoke_token(actor, token: ApiToken) -> ApiToken:
    """Revoke a token at once (系统管理员); SIPs it sent are kept."""
    require(actor, MANAGE_TOKENS)
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            raise ValidationError({"token": [_("该令牌已吊销。")]})
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=token,
            detail={"event": "revoke_token", "prefix": token.key_prefix},
        )
    return token


def authenticate_token(raw: str) -> ApiToken | None:
    """The valid (not revoked, not expired) token matching ``raw``, or None."""
    if not raw or len(raw) > 200 or not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("unit").filter(key_prefix=raw[:12]).first()
    if token is None or not hmac.compare_digest(token.key_hash, _hash(raw)):
        return None
    now = timezone.now()
    if token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if not token.unit.active:
        return None
    # Written at most once a minute: a busy system must not turn every request into two writes.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def visible_tokens(actor) -> QuerySet[ApiToken]:
    require(actor, MANAGE_TOKENS)
    return ApiToken.objects.select_related("unit", "created_by")


# --- who sees which SIPs ------------------------------------------------------------------------


def sees_all_sips(user) -> bool:
    if user is None:
        return True
    from lantai.accounts.roles import Role

    return bool(getattr(user, "is_active", False) and user.has_role(Role.ARCHIVIST))


def visible_sips(user) -> QuerySet[Sip]:
    """Archivists see every SIP; a unit officer those of his own unit."""
    sips = Sip.objects.select_related("unit", "fonds", "item", "token")
    if user is None:
        return sips
    if not has(user, VIEW):
        return sips.none()
    if sees_all_sips(user):
        return sips
    unit_id = getattr(user, "unit_id", None)
    return sips.filter(unit_id=unit_id) if unit_id else sips.none()


def get_sip(user, pk) -> Sip:
    """The SIP ``pk`` if ``user`` may see it; raises Sip.DoesNotExist otherwise."""
    try:
        uuid.UUID(str(pk))
    except ValueError:
        raise Sip.DoesNotExist from None
    return visible_sips(user).get(pk=pk)


def sip_for_token(token: ApiToken, pk) -> Sip:
    """A SIP of the token's unit; raises Sip.DoesNotExist for another unit's."""
    try:
        uuid.UUID(str(pk))
    except ValueError:
        raise Sip.DoesNotExist from None
    return Sip.objects.select_related("unit", "fonds", "item").get(pk=pk, unit_id=token.unit_id)


# --- receiving ----------------------------------------------------------------------------------


def _resolve_fonds(unit: Unit, fonds) -> Fonds | None:
    if fonds in (None, ""):
        return None
    if isinstance(fonds, Fonds):
        found = fonds
    else:
        found = Fonds.objects.filter(code=str(fonds).strip()).first()
        if found is None:
            raise ValidationError({"fonds": [_("全宗号 %(code)s 不存在。") % {"code": fonds}]})
    if found.unit_id != unit.pk:
        raise PermissionDenied(
            _("全宗 %(code)s 不属于单位 %(unit)s，不能向其归档。")
            % {"code": found.code, "unit": unit.name}
        )
    return found


def _check_submitter(user, token: ApiToken | None, unit: Unit) -> None:
    if token is not None:
        if token.unit_id != unit.pk:
            raise PermissionDenied(_("该令牌只能为其所属单位归档。"))
        return
    require(user, SUBMIT)
    if user is not None and not sees_all_sips(user) and getattr(user, "unit_id", None) != unit.pk:
        raise PermissionDenied(_("您只能为本单位归档。"))


def _too_large(limit: int) -> ValidationError:
    message = _("归档信息包超过 %(mb)d MB 的上限。") % {"mb": limit // 1024 // 1024}
    return ValidationError({"file": [ValidationError(message, code="too_large")]})


def is_too_large(exc: ValidationError) -> bool:
    """Whether ``exc`` refused an upload for its size (the API answers 413)."""
    entries = (
        [e for errs in exc.error_dict.values() for e in errs]
        if hasattr(exc, "error_dict")
        else list(getattr(exc, "error_list", []))
    )
    return any(getattr(e, "code", "") == "too_large" for e in entries)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _spool_stream(chunks: Iterable[bytes], dest: Path, limit: int) -> tuple[str, int]:
    """Write ``chunks`` to ``dest`` (temp name, fsync, rename); returns (sha256, size)."""
    tmp = dest.with_name(f".{dest.name}.part")
    digest = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size


def _spool_tree(src: Path, dest: Path, limit: int) -> tuple[str, int]:
    """Copy a bag directory to ``dest`` (temp name, flush to disk, rename). Symbolic links are
    copied as links, so the checks see and refuse them rather than following them."""
    size = 0
    for dirpath, _dirs, files in os.walk(src):
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink() and path.is_file():
                size += path.stat().st_size
                if size > limit:
                    raise _too_large(limit)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        shutil.copytree(src, tmp, symlinks=True, copy_function=shutil.copyfile)
        # One syncfs of the spool's filesystem for the whole tree: an fsync per file costs
        # ~3 ms each, 30 s for 10,000 (and sync(2) would flush every other filesystem too).
        sync_filesystem(tmp)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return "", size


def _chunks_of(source) -> Iterable[bytes]:
    if hasattr(source, "chunks"):
        yield from source.chunks(CHUNK)
        return
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _suffix(name: str) -> str:
    lower = name.lower()
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip", ".xml"):
        if lower.endswith(suffix):
            return suffix
    return ".bin"


def receive_sip(
    source: Path | str | BinaryIO | Iterable[bytes],
    *,
    unit: Unit,
    fonds: Fonds | str | None = None,
    category: str = "",
    token: ApiToken | None = None,
    user=None,
    idempotency_key: str | None = None,
    original_name: str = "",
    source_kind: str = "api",
    request_id: str = "",
    start: bool = True,
) -> tuple[Sip, bool]:
    """Receive one SIP and queue its processing; returns ``(sip, created)``.

    ``source`` is a path (a zip/tar/EEP XML file or a bag directory), an uploaded file, a
    binary stream or an iterable of byte chunks; it is spooled, never held in memory. With a
    ``token`` the SIP belongs to the token's unit; otherwise ``user`` needs ingest.submit_sip
    (a unit officer for his own unit only). ``fonds`` must belong to ``unit``
    (PermissionDenied otherwise). The same ``idempotency_key`` for the unit returns the first
    SIP (``created`` False) and stores nothing new. Raises ValidationError (``file``, code
    ``too_large`` over the size limit).
    """
    _check_submitter(user, token, unit)
    fonds_obj = _resolve_fonds(unit, fonds)
    key = (idempotency_key or "").strip() or None
    if key is not None and len(key) > 200:
        raise ValidationError({"idempotency_key": [_("Idempotency-Key 不能超过 200 个字符。")]})
    if key is not None:
        existing = Sip.objects.filter(unit=unit, idempotency_key=key).first()
        if existing is not None:
            return existing, False

    limit = max_upload_bytes()
    pk = uuid.uuid4()
    folder = sip_dir(pk)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if isinstance(source, str | Path):
            path = Path(source)
            original_name = original_name or path.name
            if path.is_dir():
                sha256, size = _spool_tree(path, folder / "bag", limit)
                received = folder / "bag"
            else:
                received = folder / f"upload{_suffix(path.name)}"
                with open(path, "rb") as fh:
                    sha256, size = _spool_stream(_chunks_of(fh), received, limit)
        else:
            original_name = original_name or Path(str(getattr(source, "name", "") or "")).name
            received = folder / f"upload{_suffix(original_name)}"
            chunks = _chunks_of(source) if hasattr(source, "read") else source
            sha256, size = _spool_stream(chunks, received, limit)
        if size == 0:
            raise ValidationError({"file": [_("归档信息包为空。")]})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    try:
        with transaction.atomic():
            sip = Sip.objects.create(
                id=pk,
                unit=unit,
                fonds=fonds_obj,
                token=token,
                submitted_by=user if getattr(user, "pk", None) else None,
                source=source_kind,
                idempotency_key=key,
                original_name=original_name[:255],
                received_path=str(received.relative_to(ingest_root())),
                size=size,
                sha256=sha256,
                request_id=request_id[:64],
                report={"category": category} if category else {},
            )
            record(
                AuditAction.CREATE,
                actor=user,
                obj=sip,
                username="" if user else f"token:{token.key_prefix}" if token else "system",
                detail={
                    "event": "receive_sip",
                    "unit": unit.code,
                    "fonds": fonds_obj.code if fonds_obj else None,
                    "size": size,
                    "sha256": sha256,
                    "name": original_name,
                    "source": source_kind,
                    "token": token.key_prefix if token else None,
                },
            )
            if start:
                _start_job(sip)
    except IntegrityError:
        # Two requests with the same key at once: the other one won; keep its SIP only.
        shutil.rmtree(folder, ignore_errors=True)
        existing = Sip.objects.filter(unit=unit, idempotency_key=key).first()
        if key is None or existing is None:
            raise
        return existing, False
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return sip, True


def _start_job(sip: Sip) -> None:
    """Queue ``ingest.process`` for ``sip`` (inside the caller's transaction)."""
    from lantai.jobs.services import enqueue

    job = enqueue(JOB_KIND, {"sip": str(sip.pk)}, user=None)
    Sip.objects.filter(pk=sip.pk).update(job=job)
    sip.job = job


# --- the pipeline -------------------------------------------------------------------------------


def _pause_point(name: str) -> None:
    """Fault injection for the kill tests: with LANTAI_INGEST_PAUSE_AT=<name> the worker writes
    LANTAI_INGEST_PAUSE_FILE and waits here, so a test can SIGKILL it at exactly this step."""
    if os.environ.get("LANTAI_INGEST_PAUSE_AT") != name:
        return
    marker = os.environ.get("LANTAI_INGEST_PAUSE_FILE")
    if marker:
        Path(marker).write_text(f"{name} {os.getpid()}\n")
    time.sleep(float(os.environ.get("LANTAI_INGEST_PAUSE_SECONDS", "600")))


def _set(sip: Sip, **fields: Any) -> None:
    """Write pipeline fields at once (its own short transaction), so the UI and the API see
    the step and a restarted worker knows where the SIP stopped."""
    for name, value in fields.items():
        setattr(sip, name, value)
    Sip.objects.filter(pk=sip.pk).update(updated_at=timezone.now(), **fields)


def _failure_report(message: str, failing: list[dict] | None = None, stage: str = "GD") -> dict:
    return {
        "passed": False,
        "stage": stage,
        "error": message,
        "items": failing or [],
        "files": {},
        "summary": {"failed": len(failing or []) or 1},
    }


def _finish(sip: Sip, status: str, *, report: dict | None = None, error: str = "") -> Sip:
    with transaction.atomic():
        fields: dict[str, Any] = {
            "status": status,
            "stage": "finished",
            "error": error[:5000],
            "finished_at": timezone.now(),
        }
        if report is not None:
            fields["report"] = report
        _set(sip, **fields)
        record(
            AuditAction.UPDATE,
            obj=sip,
            username="system",
            detail={"event": f"sip_{status}", "error": error[:500]},
        )
    return sip


def _cleanup(sip: Sip, *, upload: bool) -> None:
    shutil.rmtree(sip_dir(sip) / "work", ignore_errors=True)
    if upload:
        shutil.rmtree(sip_dir(sip), ignore_errors=True)


def _items_from(errors: ValidationError, code: str, prop: str) -> list[dict]:
    if hasattr(errors, "error_dict"):
        pairs = [(f, str(m)) for f, msgs in errors.message_dict.items() for m in msgs]
    else:
        pairs = [("__all__", str(m)) for m in errors.messages]
    return [
        {
            "id": f"{code}-{n}",
            "code": code,
            "property": prop,
            "name": field,
            "result": "fail",
            "detail": message,
            "blocking": True,
        }
        for n, (field, message) in enumerate(pairs, 1)
    ]


def _fonds_for(sip: Sip, metadata: dict) -> Fonds | None:
    """The SIP's fonds: as sent with it, or named by the metadata (全宗号)."""
    if sip.fonds_id:
        return sip.fonds
    code = ""
    for key in ("fonds", "fonds_code", "全宗号"):
        value = metadata.get(key) if isinstance(metadata, dict) else None
        if value:
            code = str(value).strip()
            break
    if code:
        return Fonds.objects.filter(code=code).first()
    candidates = list(Fonds.objects.filter(unit_id=sip.unit_id)[:2])
    return candidates[0] if len(candidates) == 1 else None


def _category_for(sip: Sip, metadata: dict) -> Category | None:
    code = str((sip.report or {}).get("category") or "").strip()
    if not code and isinstance(metadata, dict):
        for key in ("category", "category_code", "门类", "门类代码"):
            if metadata.get(key):
                code = str(metadata[key]).strip()
                break
    if not code:
        return None
    return Category.objects.filter(code=code).first()


def process_sip(sip: Sip, *, progress: Progress = None) -> Sip:
    """Run the pipeline for one SIP: open → check → (pass) item + AIP; returns the SIP.

    Idempotent: a SIP already finished is returned as it is; one left half-way by a dead
    worker starts again from its spooled upload (nothing of the interrupted run was
    registered). Ends *stored*, *failed* (report says why) or *error* (reason kept).
    """
    from lantai.ingest import checks
    from lantai.ingest import sip as sipmod

    sip = Sip.objects.select_related("unit", "fonds").get(pk=sip.pk)
    if sip.status in FINAL:
        return sip
    report_progress = progress or (lambda *a, **k: None)
    work = sip_dir(sip) / "work"
    shutil.rmtree(work, ignore_errors=True)  # leftovers of an interrupted run
    work.mkdir(parents=True, exist_ok=True)
    received = ingest_root() / sip.received_path
    try:
        _set(sip, status=SipStatus.CHECKING, stage="opening", error="")
        report_progress(0, None, _("正在打开归档信息包"))
        _pause_point("opening")
        try:
            package = sipmod.open_sip(received, work / "sip")
        except sipmod.SipError as exc:
            failing = list(getattr(exc, "items", None) or [])
            report = _failure_report(str(exc), _normalise_items(failing))
            _finish(sip, SipStatus.FAILED, report=report, error=str(exc))
            _cleanup(sip, upload=False)
            return sip
        _set(sip, format=package.format or "", stage="opened")
        _pause_point("opened")

        metadata = package.metadata or {}
        fonds = _fonds_for(sip, metadata)
        if fonds is not None and fonds.unit_id != sip.unit_id:
            message = _("全宗 %(code)s 不属于单位 %(unit)s。") % {
                "code": fonds.code,
                "unit": sip.unit.name,
            }
            report = _failure_report(
                message,
                [_item("scope", "authenticity", _("全宗归属"), message)],
            )
            _finish(sip, SipStatus.FAILED, report=report, error=message)
            _cleanup(sip, upload=False)
            return sip
        if fonds is not None and sip.fonds_id is None:
            _set(sip, fonds=fonds)

        report_progress(0, None, _("正在进行四性检测"))

        def check_progress(done: int, total: int | None = None, message: str = "", **_k):
            report_progress(done, total, message)

        report = checks.run_checks(
            package, stage="GD", unit=sip.unit, fonds=fonds, progress=check_progress
        )
        report = dict(report)
        category_code = (sip.report or {}).get("category")
        if category_code:
            report.setdefault("category", category_code)
        _set(sip, report=report, stage="checked")
        _pause_point("checked")
        if not report.get("passed"):
            _finish(sip, SipStatus.FAILED, error=_("四性检测未通过。"))
            _cleanup(sip, upload=False)
            return sip
        if fonds is None:
            message = _("无法确定全宗：请在提交时指定全宗号，或在元数据中填写全宗号。")
            report = {**report, "passed": False, "error": message}
            report.setdefault("items", []).append(_item("fonds", "integrity", _("全宗"), message))
            _finish(sip, SipStatus.FAILED, report=report, error=message)
            _cleanup(sip, upload=False)
            return sip

        _store(sip, package, report, fonds=fonds, metadata=metadata, progress=report_progress)
    except Exception as exc:
        log.exception("ingest of SIP %s broke", sip.pk)
        sip.refresh_from_db()
        if sip.status not in FINAL:
            _finish(sip, SipStatus.ERROR, error=f"{type(exc).__name__}: {exc}")
        _cleanup(sip, upload=False)
        raise
    return sip


def _item(code: str, prop: str, name: str, detail: str) -> dict:
    return {
        "id": f"ingest-{code}",
        "code": code,
        "property": prop,
        "name": name,
        "result": "fail",
        "detail": detail,
        "blocking": True,
    }


def _normalise_items(failing: list) -> list[dict]:
    items = []
    for n, entry in enumerate(failing, 1):
        if isinstance(entry, dict):
            items.append(
                {
                    "id": entry.get("id", f"open-{n}"),
                    "code": entry.get("code", "open"),
                    "property": entry.get("property", "integrity"),
                    "name": entry.get("name", _("信息包结构")),
                    "result": entry.get("result", "fail"),
                    "detail": entry.get("detail", ""),
                    "blocking": entry.get("blocking", True),
                }
            )
        else:
            items.append(_item(f"open-{n}", "integrity", _("信息包结构"), str(entry)))
    return items


def _store(sip: Sip, package, report: dict, *, fonds: Fonds, metadata: dict, progress) -> None:
    """Create the item and build, store and register its AIP in one transaction."""
    from lantai.holdings import services as holdings
    from lantai.ingest import sip as sipmod
    from lantai.preservation import aip as aipmod

    category = _category_for(sip, metadata)
    data = sipmod.metadata_to_item_data(metadata, fonds=fonds, category=category)
    _set(sip, status=SipStatus.STORING, stage="storing")
    progress(0, None, _("正在封装并保存档案信息包"))
    _pause_point("storing")
    try:
        with transaction.atomic():
            item = holdings.create_item(None, data)
            _pause_point("item_created")
            bag = aipmod.build_aip(
                package, report, item=item, sip=sip, workdir=sip_dir(sip) / "work" / "aip"
            )
            aip = aipmod.store_aip(bag, item=item, sip=sip)
            _pause_point("aip_stored")
            _set(
                sip,
                item=item,
                status=SipStatus.STORED,
                stage="stored",
                finished_at=timezone.now(),
            )
            record(
                AuditAction.UPDATE,
                obj=sip,
                username="system",
                detail={
                    "event": "sip_stored",
                    "item": item.pk,
                    "reference_code": item.reference_code,
                    "aip": str(getattr(aip, "pk", "")),
                },
            )
            _pause_point("before_commit")
    except ValidationError as exc:
        items = _items_from(exc, "metadata", "integrity")
        message = _("元数据不能登记为条目：%(errors)s") % {
            "errors": "；".join(i["detail"] for i in items)
        }
        failed = {**report, "passed": False, "error": message}
        failed["items"] = list(report.get("items", [])) + items
        _finish(sip, SipStatus.FAILED, report=failed, error=message)
        _cleanup(sip, upload=False)
        return
    _cleanup(sip, upload=True)


# --- recovery of SIPs a dead worker left -------------------------------------------------------


def _attempts(sip: Sip) -> int:
    from lantai.jobs.models import Job

    return Job.objects.filter(kind=JOB_KIND, params__sip=str(sip.pk)).count()


def recover_sips() -> list[Sip]:
    """Resume or fail SIPs whose job ended without finishing them (a killed worker).

    Dead workers' jobs are reaped first. A SIP interrupted fewer than MAX_ATTEMPTS times is
    queued again (it restarts from its spooled upload); otherwise it is marked *error* with
    the reason. Returns the SIPs acted on.
    """
    from lantai.jobs.models import Job, JobStatus
    from lantai.jobs.services import reap_stale_jobs

    reap_stale_jobs()
    ended = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SUCCEEDED)
    acted: list[Sip] = []
    for sip in Sip.objects.filter(status__in=ACTIVE).select_related("job"):
        if sip.job_id is not None and sip.job.status not in ended:
            continue
        with transaction.atomic():
            fresh = Sip.objects.select_for_update().filter(pk=sip.pk).first()
            if fresh is None or fresh.status not in ACTIVE:
                continue
            job = Job.objects.filter(pk=fresh.job_id).first()
            if job is not None and job.status not in ended:
                continue
            reason = (job.message if job else "") or _("任务丢失")
            if job is not None and job.status == JobStatus.CANCELLED:
                _finish(fresh, SipStatus.ERROR, error=_("处理任务已取消。"))
            elif _attempts(fresh) >= MAX_ATTEMPTS:
                _finish(fresh, SipStatus.ERROR, error=_(INTERRUPTED) % {"reason": reason})
            else:
                record(
                    AuditAction.UPDATE,
                    obj=fresh,
                    username="system",
                    detail={"event": "sip_resume", "stage": fresh.stage, "reason": reason},
                )
                _start_job(fresh)
            acted.append(fresh)
    return acted


def recover_in_worker() -> None:
    """recover_sips for huey hooks: a fresh connection, no exception escaping."""
    from django.db import close_old_connections

    close_old_connections()
    try:
        acted = recover_sips()
        if acted:
            log.warning("resumed or failed %d interrupted SIP(s)", len(acted))
    except Exception:
        log.exception("recover_sips failed")
    finally:
        close_old_connections()


def sweep_spool(*, older_than_hours: int = 24) -> int:
    """Remove spool folders no SIP row refers to (a receive killed before it committed)."""
    root = ingest_root()
    if not root.exists():
        return 0
    cutoff = time.time() - older_than_hours * 3600
    removed = 0
    for entry in root.iterdir():
        try:
            pk = uuid.UUID(entry.name)
        except ValueError:
            continue
        if entry.stat().st_mtime > cutoff:
            continue
        sip = Sip.objects.filter(pk=pk).first()
        if sip is None or sip.status == SipStatus.STORED:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


# --- reports ------------------------------------------------------------------------------------


def report_pdf(sip: Sip, dest: Path) -> Path:
    """Write the printable 检测报告 of ``sip`` to ``dest``."""
    from lantai.ingest import report_pdf as pdf

    report = dict(sip.report or {})
    report.setdefault("sip", str(sip.pk))
    report.setdefault("unit", sip.unit.name)
    report.setdefault("status", sip.get_status_display())
    title = _("四性检测报告（%(name)s）") % {"name": sip.original_name or sip.pk}
    pdf.write_report_pdf(report, dest, title=str(title))
    return dest


def sip_summary(sip: Sip) -> dict[str, Any]:
    """The JSON the API answers for a SIP."""
    return {
        "id": str(sip.pk),
        "status": sip.status,
        "status_display": str(sip.get_status_display()),
        "stage": sip.stage,
        "unit": sip.unit.code,
        "fonds": sip.fonds.code if sip.fonds_id else None,
        "format": sip.format or None,
        "original_name": sip.original_name,
        "size": sip.size,
        "sha256": sip.sha256 or None,
        "item_id": sip.item_id,
        "reference_code": sip.item.reference_code if sip.item_id else None,
        "error": sip.error or None,
        "created_at": sip.created_at.isoformat() if sip.created_at else None,
        "finished_at": sip.finished_at.isoformat() if sip.finished_at else None,
        "report": sip.report or {},
    }


# --- transfer stage 移交与接收 (accession batches with electronic files) -------------------------


def transfer_checks(batch, files, *, progress: Progress = None) -> dict[str, Any] | None:
    """Run the four-property checks of the transfer stage (移交与接收, ``YJ``) on the electronic
    files that came with an accession batch (``files``: accession's FileIndex, or None).

    The catalog's metadata is checked by the catalog check itself, so only findings that name
    a file are kept. Returns the summary stored with the upload (``transfer_checks``):
    ``{"stage", "files", "passed", "items": [{"id", "name", "result", "blocking", "count",
    "failures": [{"target", "detail"}] (first 50)}]}``, or None without files.
    """
    from lantai.ingest import checks
    from lantai.ingest.sip import SipFile, SipPackage

    entries = [e for e in getattr(files, "entries", None) or [] if not e.problem]
    if not entries:
        return None
    package = SipPackage(
        format="transfer",
        root=files.root,
        metadata={},
        files=[SipFile(e.rel, e.path, e.size, {}) for e in entries],
        bag_info={},
    )

    def check_progress(done: int, total: int | None = None, message: str = "", **_k) -> None:
        if progress is not None:
            progress(done, total, _("移交检测：%(m)s") % {"m": message} if message else "")

    report = checks.run_checks(
        package, stage="YJ", unit=batch.unit, fonds=batch.fonds, progress=check_progress
    )
    paths = {e.rel for e in entries}
    items = []
    for item in report.get("items", []):
        if item.get("result") not in ("fail", "warning"):
            continue
        targets = [f for f in item.get("failures") or [] if f.get("target") in paths]
        if not targets:
            continue
        blocking = bool(item.get("result") == "fail" and item.get("blocking"))
        items.append(
            {
                "id": item.get("id"),
                "name": item.get("name"),
                "property": item.get("property"),
                "result": item.get("result"),
                "blocking": blocking,
                "count": len(targets),
                "failures": [
                    {"target": f["target"], "detail": f.get("detail", "")} for f in targets[:50]
                ],
            }
        )
    return {
        "stage": "YJ",
        "files": len(entries),
        "passed": not any(i["blocking"] for i in items),
        "items": items,
    }
