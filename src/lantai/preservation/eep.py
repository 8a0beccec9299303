"""Export an item as a DA/T 48 电子文件封装包 (EEP): one XML file, the original files 原件
embedded in base64.

The layout follows DA/T 48-2009 《基于XML的电子文件封装规范》 (封装包格式描述, 版本, 被签名对象
→ 封装内容 → 文件实体块 → 文件实体 with 来源, 档号, 内容描述, 形式特征, 权限管理, 文件数据 →
文档 → 文档数据 → 编码 → 电子属性 / 编码数据). Codes are written as the archive uses them
(保管期限 Y/D30/D10, 密级 as stored), so an exported package can be submitted again through the
ingest API and opens to the same metadata and the same bytes (round trip).

The XML is written as a stream (files are read in pieces and base64-encoded on the way), to a
temporary name, then renamed: a large item never sits in memory, a failed export leaves nothing.
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.preservation import events as ev
from lantai.preservation.aip import OBJECTS, iter_bag_files
from lantai.preservation.dip import authorised_item, current_aip
from lantai.storage import services as storage
from lantai.storage.models import ComponentRole

EEP_NS = "http://www.saac.gov.cn/standards/ERM/encapsulation"
#: Bytes read per base64 step: a multiple of 57 so every 76-character line is complete.
_B64_CHUNK = 57 * 16 * 1024


def _el(name: str, value) -> str:
    if value is None or value == "":
        return f"<{name}/>"
    return f"<{name}>{escape(str(value))}</{name}>"


def _write_base64(out, reader) -> None:
    pending = b""
    while True:
        chunk = reader.read(_B64_CHUNK)
        if not chunk:
            break
        data = pending + chunk
        usable = len(data) - len(data) % 57
        pending = data[usable:]
        encoded = base64.encodebytes(data[:usable])  # 76-character lines
        out.write(encoded)
    if pending:
        out.write(base64.encodebytes(pending))


def export_eep(user, item, dest: Path) -> Path:
    """Write ``item`` as a DA/T 48 EEP XML file at ``dest`` for ``user`` (who needs
    preservation.download_dip and must see the item); returns ``dest``."""
    item = authorised_item(user, item)
    components = list(
        item.components.filter(role=ComponentRole.MASTER)
        .select_related("object")
        .order_by("sequence")
    )
    aip = current_aip(item)
    if not components and aip is None:
        raise FileNotFoundError(_("该条目没有可封装的原件"))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".xml", dir=dest.parent)
    tmp = Path(tmp_name)
    now = timezone.localtime().isoformat(timespec="seconds")
    try:
        with os.fdopen(fd, "wb") as out:

            def w(text: str) -> None:
                out.write(text.encode("utf-8"))

            w('<?xml version="1.0" encoding="UTF-8"?>\n')
            w(f"<电子文件封装包 xmlns={quoteattr(EEP_NS)}>\n")
            w(
                _el(
                    "封装包格式描述",
                    "本EEP根据中华人民共和国档案行业标准DA/T 48-2009"
                    "《基于XML的电子文件封装规范》生成",
                )
            )
            w(_el("版本", "2009") + "\n")
            w('<被签名对象 eep版本="2009">\n')
            w(_el("封装包类型", "原始型"))
            w(_el("封装包类型描述", "本封装包包含电子文件数据及其元数据，原始封装，未经修改"))
            w(_el("封装包创建时间", now))
            w(_el("封装包创建单位", settings.LANTAI_ARCHIVE_NAME) + "\n")
            w("<封装内容><文件实体块><文件实体>\n")
            w(_el("聚合层次", "文件"))
            w("<来源>")
            w(_el("档案馆名称", settings.LANTAI_ARCHIVE_NAME))
            w(_el("档案馆代码", settings.LANTAI_ARCHIVE_CODE))
            w(_el("全宗名称", str(item.fonds)))
            w(_el("立档单位名称", getattr(item.fonds.unit, "name", "") if item.fonds else ""))
            w("</来源>\n")
            w(_el("电子文件号", str(aip.pk) if aip else item.pk))
            w("<档号>")
            w(_el("全宗号", item.fonds.code))
            w(_el("门类代码", item.category.code))
            w(_el("年度", item.year))
            w(_el("保管期限", item.retention))
            w(_el("机构或问题", item.series.code if item.series_id else ""))
            w(_el("件号", item.item_no))
            w("</档号>\n")
            w("<内容描述>")
            w(_el("题名", item.title))
            w(_el("主题词", item.keywords))
            w(_el("责任者", item.responsible))
            w(_el("日期", item.date.isoformat() if item.date else ""))
            w(_el("文件编号", item.doc_number))
            w(_el("密级", item.classification))
            w(_el("附注", item.notes))
            w("</内容描述>\n")
            w("<形式特征>")
            count = len(components) or aip.files.filter(path__startswith=OBJECTS).count()
            w(_el("文件组合类型", "单件" if count == 1 else "组合文件"))
            w(_el("件数", count))
            w(_el("页数", item.pages))
            w("</形式特征>\n")
            w("<权限管理>")
            w(_el("控制标识", item.get_openness_display()))
            w("</权限管理>\n")
            w("<文件数据>\n")
            n = 0

            def document(filename: str, size: int, reader) -> None:
                nonlocal n
                n += 1
                w("<文档>")
                w(_el("文档标识符", f"DOC-{n:03d}"))
                w(_el("文档序号", n))
                w(_el("稿本", "正本"))
                w(f'<文档数据 文档数据ID="DD-{n:03d}"><编码 编码ID="EN-{n:03d}">')
                w("<电子属性>")
                w(_el("格式信息", Path(filename).suffix.lstrip(".").upper()))
                w(_el("计算机文件名", filename))
                w(_el("计算机文件大小", size))
                w("</电子属性>")
                w(_el("编码描述", "本封装包中“编码数据”元素存储的是计算机文件二进制流的Base64编码"))
                w(_el("反编码关键字", "base64"))
                w("<编码数据>\n")
                _write_base64(out, reader)
                w("</编码数据></编码></文档数据></文档>\n")

            if components:
                for component in components:
                    with storage.open_object(component.object) as reader:
                        document(component.filename, component.object.size, reader)
            else:
                # A packed AIP: the originals come out of its tar.
                for path, size, reader in iter_bag_files(aip, (OBJECTS,)):
                    name = path.removeprefix(OBJECTS).replace("/", "_")
                    document(name, size, reader)
            w("</文件数据>\n")
            w("</文件实体></文件实体块></封装内容>\n")
            w("</被签名对象>\n")
            w("</电子文件封装包>\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        record(
            AuditAction.EXPORT,
            actor=user,
            obj=item,
            detail={"package": "EEP", "files": n},
        )
        if aip is not None:
            ev.record_event(
                ev.EXPORTING,
                "success",
                aip=aip,
                detail=_("导出 DA/T 48 封装包，%(n)d 个文件") % {"n": n},
                agent=getattr(user, "username", "") or ev.SYSTEM_AGENT,
            )
    return dest
