"""METS/PREMIS: our validator rejects a document missing a required PREMIS element; the reader
finds every object, event and agent (Chinese names kept) and writes them back without loss."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from lantai.preservation import aip as aips
from lantai.preservation import mets
from lantai.preservation.xmlschema import PREMIS_NS, UnsafeXML, parse_file, validate_mets

NS = {"premis": PREMIS_NS}


@pytest.fixture
def bag(tmp_path, item, package, db):
    pkg, report = package
    return aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")


def test_validator_rejects_a_mutated_document(bag, schema_dir, tmp_path):
    tree = etree.parse(str(bag / "data/METS.xml"))
    ident = tree.xpath(
        "//premis:object[@xsi:type='premis:file']/premis:objectIdentifier",
        namespaces={**NS, "xsi": "http://www.w3.org/2001/XMLSchema-instance"},
    )[0]
    ident.getparent().remove(ident)
    broken = tmp_path / "broken.xml"
    tree.write(str(broken), xml_declaration=True, encoding="UTF-8")
    errors = validate_mets(broken, schema_dir)
    assert errors and any("objectIdentifier" in e or "objectCharacteristics" in e for e in errors)


def test_reader_round_trips_objects_events_agents(bag, schema_dir, tmp_path):
    doc = mets.read_mets(bag / "data/METS.xml")
    files = [o for o in doc.objects if o.kind == "file"]
    assert len(files) == 3 and {o.original_name for o in files} >= {"正文.pdf", "附件/图 1.png"}
    assert all(dict(o.fixity).keys() == {"SHA-256", "SM3"} for o in files)
    assert len(doc.events) >= 6 and len(doc.agents) >= 2 and doc.rights
    assert doc.dublin_core["title"] == ["关于开展档案工作检查的通知"]
    out = tmp_path / "again.xml"
    out.write_bytes(mets.write_mets(doc))
    assert validate_mets(out, schema_dir) == []
    again = mets.read_mets(out)
    assert again.objects == doc.objects
    assert again.events == doc.events
    assert again.agents == doc.agents
    assert len(again.rights) == len(doc.rights)


def test_reader_handles_premis_in_dmdsec_and_v2(tmp_path):
    doc = tmp_path / "other.xml"
    doc.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <mets:dmdSec ID="d1"><mets:mdWrap MDTYPE="PREMIS:OBJECT"><mets:xmlData>
  <premis:object xmlns:premis="http://www.loc.gov/premis/v3" xsi:type="premis:intellectualEntity">
   <premis:objectIdentifier><premis:objectIdentifierType>UUID</premis:objectIdentifierType>
   <premis:objectIdentifierValue>f21e</premis:objectIdentifierValue></premis:objectIdentifier>
   <premis:originalName>档案-1</premis:originalName></premis:object>
 </mets:xmlData></mets:mdWrap></mets:dmdSec>
 <mets:amdSec><mets:digiprovMD ID="e1"><mets:mdWrap MDTYPE="PREMIS:EVENT"><mets:xmlData>
  <premis:event xmlns:premis="info:lc/xmlns/premis-v2"><premis:eventIdentifier>
   <premis:eventIdentifierType>UUID</premis:eventIdentifierType>
   <premis:eventIdentifierValue>e-1</premis:eventIdentifierValue></premis:eventIdentifier>
   <premis:eventType>ingestion</premis:eventType><premis:eventDateTime>2020-01-01</premis:eventDateTime>
  </premis:event></mets:xmlData></mets:mdWrap></mets:digiprovMD></mets:amdSec>
 <mets:structMap><mets:div/></mets:structMap>
</mets:mets>""",
        encoding="utf-8",
    )
    parsed = mets.read_mets(doc)
    assert parsed.objects[0].original_name == "档案-1"
    assert parsed.events[0].event_type == "ingestion"
    again = tmp_path / "again.xml"
    again.write_bytes(mets.write_mets(parsed))
    reread = mets.read_mets(again)
    assert reread.objects == parsed.objects and reread.events == parsed.events


def test_entities_are_refused(tmp_path):
    evil = tmp_path / "evil.xml"
    evil.write_text(
        '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<mets:mets xmlns:mets="http://www.loc.gov/METS/">&x;</mets:mets>'
    )
    with pytest.raises(UnsafeXML):
        parse_file(evil)
    laughs = tmp_path / "laughs.xml"
    laughs.write_text(
        '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><m>&b;</m>'
    )
    with pytest.raises(UnsafeXML):
        mets.read_mets(laughs)


def test_archivematica_documents_if_present():
    folder = Path("/work/shared/testdata/xml-schemas")
    samples = sorted(p for p in folder.rglob("*.xml") if p.name != "catalog.xml")
    if not samples:
        pytest.skip("no third-party METS samples in the test data")
    for sample in samples:
        doc = mets.read_mets(sample)
        again = mets.parse_mets(etree.ElementTree(etree.fromstring(mets.write_mets(doc))))
        assert again.objects == doc.objects and again.events == doc.events
        assert again.agents == doc.agents


def test_bundled_schemas_validate_without_configuration(bag, monkeypatch):
    monkeypatch.delenv("LANTAI_XML_SCHEMA_DIR", raising=False)
    assert validate_mets(bag / "data/METS.xml") == []
