"""Transfer stage 移交与接收 (YJ): the four-property checks run on the electronic files of an
accession batch; findings naming a file are kept with the upload's summary."""

from __future__ import annotations

from types import SimpleNamespace

from lantai.accession.checks import FileIndex
from lantai.ingest import services

from .conftest import pdf_bytes


def test_transfer_checks_report_damaged_files(world, tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    (root / "Z109-WS·2024-Y-BGS-0001.pdf").write_bytes(pdf_bytes())
    (root / "Z109-WS·2024-Y-BGS-0002.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf body")
    files = FileIndex(root, sorted(root.iterdir()))
    batch = SimpleNamespace(unit=world.unit_a, fonds=world.fonds_a)
    seen = []
    result = services.transfer_checks(batch, files, progress=lambda *a, **k: seen.append(a))
    assert result["stage"] == "YJ" and result["files"] == 2
    targets = {f["target"] for item in result["items"] for f in item["failures"]}
    assert "Z109-WS·2024-Y-BGS-0002.pdf" in targets
    assert "Z109-WS·2024-Y-BGS-0001.pdf" not in targets
    assert result["passed"] is False
    assert seen


def test_no_files_no_transfer_checks(world):
    assert services.transfer_checks(SimpleNamespace(unit=None, fonds=None), None) is None
