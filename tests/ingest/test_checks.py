"""The four-property checks 四性检测: each check item on real files (PDFs from reportlab,
images from Pillow, encrypted PDFs from pikepdf, OFD zips), rule modes (blocking / warning /
off), the clamd scan against a real socket speaking clamd's protocol, stages, the rules
document and the printable report."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import struct
import threading
import zipfile
from pathlib import Path

import pytest

from lantai.ingest import checks
from lantai.ingest.models import AcceptedFormat, CheckMode, CheckRule, CheckStage
from lantai.ingest.sip import open_sip

from .conftest import make_bag, metadata_for, pdf_bytes


@pytest.fixture
def fonds(db):
    from lantai.holdings import refcode
    from lantai.holdings import services as holdings
    from lantai.holdings.models import Series

    refcode.clear_scheme_cache()
    unit = holdings.create_unit(None, {"code": "QZF", "name": "区政府办公室", "kind": "agency"})
    fonds = holdings.create_fonds(None, {"code": "Z109", "name": "区政府办公室", "unit": unit})
    Series.objects.create(fonds=fonds, code="BGS", name="办公室")
    return fonds


def _bag(tmp_path, payload: dict[str, bytes], name="bag", **meta_overrides):
    files = [(n, len(c)) for n, c in payload.items()]
    meta = metadata_for("Z109", files=files, **meta_overrides)
    folder = make_bag(tmp_path / name, payload=payload, metadata=meta)
    return open_sip(folder, tmp_path / f"w-{name}")


def _run(package, fonds, stage="GD"):
    return checks.run_checks(package, stage=stage, unit=fonds.unit, fonds=fonds)


def _item(report, code):
    return next(item for item in report["items"] if item["code"] == code)


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, "PNG")
    return buf.getvalue()


def test_good_sip_passes_with_sha256_and_sm3(tmp_path, fonds):
    pdf = pdf_bytes()
    package = _bag(tmp_path, {"正文.pdf": pdf, "附图.png": _png()})
    package.metadata["components"][1]["format"] = "PNG"
    report = _run(package, fonds)
    assert report["passed"], [i for i in report["items"] if i["result"] == "fail"]
    json.dumps(report)  # JSON-able
    info = report["files"]["正文.pdf"]
    assert info["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert info["sm3"] == hashlib.new("sm3", pdf).hexdigest()
    assert info["puid"].startswith("fmt/") and info["mime"] == "application/pdf"
    assert report["files"]["附图.png"]["puid"] == "fmt/11"
    ids = {item["id"] for item in report["items"]}
    assert {"GD-1-1", "GD-2-4", "GD-3-3", "GD-4-1", "GD-4-2"} <= ids
    for item in report["items"]:
        assert set(item) >= {"id", "code", "property", "name", "result", "detail", "blocking"}
    # virus scan without clamd: not run, never passed
    assert _item(report, "4-1")["result"] == "not_run"
    assert report["summary"]["file_count"] == 2


def test_checksum_mismatch_fails_fixity(tmp_path, fonds):
    package = _bag(tmp_path, {"正文.pdf": pdf_bytes()})
    target = package.files[0].abspath
    data = bytearray(target.read_bytes())
    data[-20] ^= 0x01  # one bit flipped, size unchanged
    target.write_bytes(bytes(data))
    report = _run(package, fonds)
    item = _item(report, "1-1")
    assert item["result"] == "fail" and item["blocking"] and not report["passed"]
    assert "正文.pdf" in item["detail"] and "SHA256" in item["detail"].upper()


def test_supplied_digest_verified(tmp_path, fonds):
    pdf = pdf_bytes()
    good = _bag(tmp_path, {"a.pdf": pdf}, name="good")
    good.metadata["components"][0]["sm3"] = hashlib.new("sm3", pdf).hexdigest()
    assert _item(_run(good, fonds), "1-2")["result"] == "pass"
    bad = _bag(tmp_path, {"a.pdf": pdf}, name="bad")
    bad.metadata["components"][0]["sha256"] = "0" * 64
    item = _item(_run(bad, fonds), "1-2")
    assert item["result"] == "fail" and "a.pdf" in item["detail"]
    signed = _bag(tmp_path, {"a.pdf": pdf}, name="signed")
    signed.metadata["components"][0]["signature"] = "MEUCIQ..."
    assert _item(_run(signed, fonds), "1-2")["result"] == "not_run"


def test_metadata_length_type_range_characters(tmp_path, fonds):
    package = _bag(
        tmp_path,
        {"a.pdf": pdf_bytes()},
        title="题" * 501,
        pages="三页",
        retention="X",
        classification="weird",
        responsible="办公室\x07",
        date="2024-02-30",
    )
    report = _run(package, fonds)
    assert "题名" in _item(report, "1-3")["detail"]
    types = _item(report, "1-4")["detail"]
    assert "页数" in types and "形成日期" in types
    ranges = _item(report, "1-5")["detail"]
    assert "保管期限" in ranges and "密级" in ranges
    assert "U+0007" in _item(report, "1-6")["detail"]
    assert not report["passed"]


def test_year_and_date_disagree(tmp_path, fonds):
    package = _bag(tmp_path, {"a.pdf": pdf_bytes()}, date="2023-12-31")
    assert "年度" in _item(_run(package, fonds), "1-5")["detail"]


def test_reference_code_wellformed_and_agreeing(tmp_path, fonds):
    good = _bag(
        tmp_path, {"a.pdf": pdf_bytes()}, name="g", item_no=1,
        reference_code="Z109-WS·2024-Y-BGS-0001",
    )  # fmt: skip
    assert _item(_run(good, fonds), "1-7")["result"] == "pass"
    malformed = _bag(tmp_path, {"a.pdf": pdf_bytes()}, name="m", reference_code="Z109/WS/2024")
    assert _item(_run(malformed, fonds), "1-7")["result"] == "fail"
    disagree = _bag(
        tmp_path, {"a.pdf": pdf_bytes()}, name="d", item_no=1,
        reference_code="Z109-WS·2023-Y-BGS-0001",
    )  # fmt: skip
    item = _item(_run(disagree, fonds), "1-7")
    assert item["result"] == "fail" and "2023" in item["detail"]


def test_duplicates_against_holdings_and_continuity(tmp_path, fonds):
    from lantai.holdings import services as holdings

    existing = holdings.create_item(
        None,
        {
            "fonds": fonds, "category": "WS", "year": 2024, "retention": "Y", "series": "BGS",
            "title": "已有的件", "doc_number": "兰政办发〔2024〕1号",
        },
    )  # fmt: skip
    dup = _bag(
        tmp_path, {"a.pdf": pdf_bytes()}, name="dup", reference_code=existing.reference_code,
        item_no=existing.item_no,
    )  # fmt: skip
    detail = _item(_run(dup, fonds), "1-8")["detail"]
    assert existing.reference_code in detail and "文号" in detail and "件号" in detail
    gap = _bag(tmp_path, {"a.pdf": pdf_bytes()}, name="gap", item_no=5, doc_number="")
    report = _run(gap, fonds)
    continuity = _item(report, "2-3")
    assert continuity["result"] == "warning" and not continuity["blocking"]
    assert report["passed"]  # a warning does not block


def test_name_size_format_agree_with_metadata(tmp_path, fonds):
    package = _bag(tmp_path, {"a.pdf": pdf_bytes(), "b.png": _png()})
    package.metadata["components"][0]["size"] = 1
    package.metadata["components"][1]["format"] = "PDF"
    detail = _item(_run(package, fonds), "1-9")["detail"]
    assert "a.pdf" in detail and "大小" in detail and "b.png" in detail and "格式" in detail


def test_counts_required_and_components(tmp_path, fonds):
    package = _bag(tmp_path, {"a.pdf": pdf_bytes(), "b.pdf": pdf_bytes()})
    package.metadata["component_count"] = 3
    package.metadata["components"] = package.metadata["components"][:1]
    del package.metadata["title"]
    report = _run(package, fonds)
    assert _item(report, "2-1")["result"] == "fail"
    assert "题名" in _item(report, "2-2")["detail"]
    assert "b.pdf" in _item(report, "2-4")["detail"]
    package.metadata["components"].append({"name": "c.pdf", "path": "c.pdf", "size": 3})
    assert "c.pdf" in _item(_run(package, fonds), "2-4")["detail"]


def test_sequence_continuity(tmp_path, fonds):
    package = _bag(tmp_path, {"a.pdf": pdf_bytes(), "b.pdf": pdf_bytes()})
    package.metadata["components"][1]["sequence"] = 3
    assert "文档序号" in _item(_run(package, fonds), "2-3")["detail"]


def test_format_identification_and_accepted_list(tmp_path, fonds):
    package = _bag(tmp_path, {"a.pdf": pdf_bytes(), "tool.exe": b"MZ\x90\x00" + b"\0" * 200})
    package.metadata["components"][1]["format"] = ""
    report = _run(package, fonds)
    assert (
        "tool.exe" in _item(report, "3-2")["detail"] or "tool.exe" in _item(report, "3-1")["detail"]
    )
    # the list is configurable: refusing PDF 1.3 makes the PDF fail too
    puid = report["files"]["a.pdf"]["puid"]
    AcceptedFormat.objects.filter(puid=puid).update(accepted=False)
    assert "a.pdf" in _item(_run(package, fonds), "3-2")["detail"]


def test_content_opens_and_encryption(tmp_path, fonds):
    import pikepdf

    source = pikepdf.open(io.BytesIO(pdf_bytes()))
    locked, owner_only = io.BytesIO(), io.BytesIO()
    source.save(locked, encryption=pikepdf.Encryption(owner="o", user="secret"))
    source.save(owner_only, encryption=pikepdf.Encryption(owner="o", user=""))
    broken_png = _png()[:40]
    package = _bag(
        tmp_path,
        {
            "locked.pdf": locked.getvalue(),
            "owner.pdf": owner_only.getvalue(),
            "broken.png": broken_png,
            "fake.pdf": b"%PDF-1.4\nnot really a pdf",
        },
    )
    report = _run(package, fonds)
    security = _item(report, "4-2")
    assert security["result"] == "fail"
    assert "locked.pdf" in security["detail"] and "owner.pdf" in security["detail"]
    readable = _item(report, "3-3")
    targets = {f["target"] for f in readable["failures"]}
    assert {"broken.png", "fake.pdf"} <= targets


def _ofd(ofd_xml: str, *, encrypt_flag=False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("OFD.xml", ofd_xml)
        zf.writestr("Doc_0/Document.xml", "<Document/>")
    data = buf.getvalue()
    return data


def test_ofd_identified_and_parsed(tmp_path, fonds):
    good = _ofd(
        '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"'
        ' Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml'
        "</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    xxe = _ofd(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><OFD>&e;</OFD>'
    )
    package = _bag(tmp_path, {"公文.ofd": good, "evil.ofd": xxe})
    package.metadata["components"][0]["format"] = "OFD"
    package.metadata["components"][1]["format"] = "OFD"
    report = _run(package, fonds)
    assert report["files"]["公文.ofd"]["puid"] == "local/ofd"
    readable = _item(report, "3-3")
    assert [f["target"] for f in readable["failures"]] == ["evil.ofd"]
    assert "DOCTYPE" in readable["detail"]
    assert _item(report, "3-2")["result"] == "pass"


def test_rule_modes_warning_and_off(tmp_path, fonds):
    package = _bag(tmp_path, {"a.pdf": pdf_bytes()})
    package.metadata["components"][0]["size"] = 1
    CheckRule.objects.filter(stage="GD", code="1-9").update(mode=CheckMode.WARNING)
    report = _run(package, fonds)
    assert _item(report, "1-9")["result"] == "warning" and report["passed"]
    CheckRule.objects.filter(stage="GD", code="1-9").update(mode=CheckMode.OFF)
    item = _item(_run(package, fonds), "1-9")
    assert item["result"] == "not_run" and not item["blocking"]


def test_stages_have_their_rules(tmp_path, fonds):
    package = _bag(tmp_path, {"a.pdf": pdf_bytes()})
    for stage in CheckStage.values:
        report = _run(package, fonds, stage=stage)
        assert report["stage"] == stage and all(i["id"].startswith(stage) for i in report["items"])
    bc = {i["code"] for i in _run(package, fonds, stage="BC")["items"]}
    assert "1-1" in bc and "1-7" not in bc  # 长期保存: fixity yes, 档号 format no
    assert CheckRule.objects.filter(stage="YJ").count() == len(checks.RULES)


class FakeClamd:
    """A unix socket speaking clamd's INSTREAM protocol; 'infected' when the EICAR marker
    appears in the stream."""

    def __init__(self, path: Path):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(5)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _addr = self.server.accept()
            except OSError:
                return
            with conn:
                command = b""
                while not command.endswith(b"\0"):
                    command += conn.recv(1)
                data = b""
                while True:
                    header = b""
                    while len(header) < 4:
                        header += conn.recv(4 - len(header))
                    (size,) = struct.unpack(">I", header)
                    if size == 0:
                        break
                    chunk = b""
                    while len(chunk) < size:
                        chunk += conn.recv(size - len(chunk))
                    data += chunk
                infected = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in data
                conn.sendall(b"stream: Eicar-Signature FOUND\0" if infected else b"stream: OK\0")

    def close(self):
        self.server.close()


def test_clamd_scan_reports_infection(tmp_path, fonds, settings):
    eicar = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    package = _bag(tmp_path, {"a.pdf": pdf_bytes(), "note.txt": eicar})
    package.metadata["components"][1]["format"] = "TXT"
    sock = tmp_path.parent / f"clamd-{id(tmp_path)}.sock"  # short: AF_UNIX path limit
    clamd = FakeClamd(sock)
    try:
        settings.LANTAI_CLAMD_SOCKET = str(sock)
        item = _item(_run(package, fonds), "4-1")
        assert item["result"] == "fail" and "note.txt" in item["detail"]
        assert "Eicar" in item["detail"]
    finally:
        clamd.close()
        sock.unlink(missing_ok=True)
    # configured but unreachable: not run (never "passed")
    settings.LANTAI_CLAMD_SOCKET = str(sock)
    assert _item(_run(package, fonds), "4-1")["result"] == "not_run"


def test_eep_package_checked(tmp_path, fonds):
    from .test_sip import eep_xml

    path = tmp_path / "p.xml"
    path.write_bytes(eep_xml([("正文.pdf", pdf_bytes())]))
    report = _run(open_sip(path, tmp_path / "w"), fonds)
    assert report["passed"], [i for i in report["items"] if i["result"] == "fail"]
    assert report["files"]["正文.pdf"]["sm3"]


def test_rules_document(fonds):
    document = checks.rules_document()
    json.dumps(document)
    assert "title" in document["required"] and document["elements"]["title"]["max_length"] == 500
    assert document["codes"]["retention"]["Y"]
    assert any(s["item_template"] for s in document["reference_code"]["schemes"])
    assert any(f["puid"] == "local/ofd" for f in document["accepted_formats"])
    assert {r["code"] for r in document["checks"]["GD"]} >= {"1-1", "4-2"}
    assert document["schema"]["properties"]["components"]["type"] == "array"


def test_schema_validates_conftest_metadata():
    import jsonschema

    schema = checks.load_schema()
    meta = metadata_for("Z109", files=[("a.pdf", 10)])
    jsonschema.validate(meta, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**meta, "retention": "X"}, schema)


def test_report_pdf(tmp_path, fonds):
    from pypdf import PdfReader

    from lantai.ingest.report_pdf import write_report_pdf

    package = _bag(tmp_path, {"a.pdf": pdf_bytes()})
    package.metadata["components"][0]["size"] = 1
    report = _run(package, fonds)
    dest = write_report_pdf(report, tmp_path / "out" / "report.pdf", title="四性检测报告")
    text = "".join(page.extract_text() for page in PdfReader(dest).pages)
    assert "四性检测报告" in text and "不通过" in text and "a.pdf" in text
    assert not list(dest.parent.glob(".*.part"))


def test_update_rule_audited(fonds):
    from lantai.audit.models import AuditEntry

    rule = CheckRule.objects.get(stage="GD", code="2-3")
    checks.update_rule(None, rule, CheckMode.BLOCKING)
    assert CheckRule.objects.get(pk=rule.pk).mode == CheckMode.BLOCKING
    assert AuditEntry.objects.filter(object_id=str(rule.pk)).exists()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        checks.update_rule(None, rule, "sometimes")


def test_report_pdf_survives_huge_details(tmp_path):
    from pypdf import PdfReader

    from lantai.ingest import report_pdf

    files = {
        f"目录/很长的文件名{i:04d}{'x' * 400}.pdf": {"size": i, "sha256": "a" * 64, "sm3": "b" * 64}
        for i in range(report_pdf.MAX_FILE_ROWS + 5)
    }
    item = {
        "id": "GD-3-3", "code": "3-3", "property": "usability", "name": "内容可读",
        "result": "fail", "blocking": True, "detail": "无法打开" * 2000,
        "failures": [{"target": "f" * 500, "detail": "d" * 500}] * 100,
    }  # fmt: skip
    report = {"passed": False, "stage": "GD", "items": [item], "files": files, "summary": {}}
    dest = report_pdf.write_report_pdf(report, tmp_path / "r.pdf", title="四性检测报告")
    text = PdfReader(dest).pages[-1].extract_text()
    assert "另有 5 个文件" in text


def test_fonds_of_another_unit_fails(tmp_path, fonds):
    from lantai.holdings import services as holdings

    other = holdings.create_unit(None, {"code": "SYZ", "name": "兰台实验中学", "kind": "school"})
    package = _bag(tmp_path, {"a.pdf": pdf_bytes()})
    report = checks.run_checks(package, stage="GD", unit=other, fonds=None)
    item = _item(report, "1-5")
    assert item["result"] == "fail" and "兰台实验中学" in item["detail"]
    assert _item(_run(package, fonds), "1-5")["result"] == "pass"


def test_xml_files_parsed_safely(tmp_path, fonds):
    good = b'<?xml version="1.0" encoding="UTF-8"?><root>' + b"<row>x</row>" * 50000 + b"</root>"
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<r>&c;</r>"
    )
    broken = b"<root><row></root>"
    package = _bag(tmp_path, {"data.xml": good, "lol.xml": laughs, "broken.xml": broken})
    for component in package.metadata["components"]:
        component["format"] = "XML"
    report = _run(package, fonds)
    readable = _item(report, "3-3")
    assert sorted(f["target"] for f in readable["failures"]) == ["broken.xml", "lol.xml"]
    assert report["files"]["data.xml"]["puid"] == "fmt/101"


def test_large_files_identified_from_both_ends(tmp_path, monkeypatch):
    from PIL import Image

    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(pdf_bytes())
    png = tmp_path / "b.png"
    Image.new("RGB", (300, 300), "blue").save(png)
    whole = {p: checks._identify(p)[0] for p in (pdf, png)}
    monkeypatch.setattr(checks, "IDENTIFY_WINDOW", 200)
    assert all(p.stat().st_size > 400 for p in whole)
    assert {p: checks._identify(p)[0] for p in whole} == whole
    assert whole[pdf].startswith("fmt/") and whole[png].startswith("fmt/")
