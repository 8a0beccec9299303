"""Safe XML parsing and METS/PREMIS schema validation, offline.

Every XML document Lantai reads from outside (EEP packages, METS of AIPs read back) goes through
``safe_parser()``: no external entities, no DTD loading, no network, no huge trees; a DOCTYPE
that declares entities is refused before parsing.

Schemas are never fetched: the official Library of Congress / W3C files (mets.xsd, premis.xsd,
xlink.xsd, xml.xsd) ship in ``schemas/``; ``LANTAI_XML_SCHEMA_DIR`` (or the ``folder``
argument) names another folder holding them. A resolver maps the remote schemaLocation URLs
they import onto those files, and the parser that reads them has network access switched off.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from lxml import etree

METS_NS = "http://www.loc.gov/METS/"
PREMIS_NS = "http://www.loc.gov/premis/v3"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# Remote schema locations (as written in the official files) → local file names.
_KNOWN = {
    "xlink.xsd": "xlink.xsd",
    "mets.xsd": "mets.xsd",
    "premis.xsd": "premis.xsd",
    "xml.xsd": "xml.xsd",
}

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


class UnsafeXML(ValueError):
    """The document declares entities or is otherwise refused before parsing."""


def safe_parser(**extra) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        **extra,
    )


def refuse_entities(head: bytes) -> None:
    """Refuse a document whose prolog declares entities (XXE, billion laughs)."""
    if _DOCTYPE.search(head) and _ENTITY_DECL.search(head):
        raise UnsafeXML("XML 文档声明了实体（DOCTYPE/ENTITY），出于安全原因拒绝解析")


def parse_file(path: Path) -> etree._ElementTree:
    """Parse a file safely (entities refused, nothing loaded from outside)."""
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    refuse_entities(head)
    tree = etree.parse(str(path), safe_parser())
    if tree.docinfo.internalDTD is not None and tree.docinfo.internalDTD.entities():
        raise UnsafeXML("XML 文档声明了实体（DOCTYPE/ENTITY），出于安全原因拒绝解析")
    return tree


class _LocalSchemas(etree.Resolver):
    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def resolve(self, system_url, public_id, context):
        name = (system_url or "").rstrip("/").rsplit("/", 1)[-1]
        if name in _KNOWN and (self.folder / _KNOWN[name]).exists():
            return self.resolve_filename(str(self.folder / _KNOWN[name]), context)
        # Anything else would be a network fetch: refuse it by resolving to nothing.
        return self.resolve_string("", context)


#: The official schemas shipped with Lantai (see schemas/README.md).
BUNDLED = Path(__file__).resolve().parent / "schemas"


def schema_dir() -> Path | None:
    """LANTAI_XML_SCHEMA_DIR, else the bundled copies (None if neither is there)."""
    value = os.environ.get("LANTAI_XML_SCHEMA_DIR", "")
    if value:
        return Path(value)
    return BUNDLED if (BUNDLED / "mets.xsd").exists() else None


@lru_cache(maxsize=4)
def mets_premis_schema(folder: str) -> etree.XMLSchema:
    """One XMLSchema that validates METS 1.12 and the PREMIS 3 elements inside its
    ``xmlData`` (lax there, so a driver schema imports PREMIS too)."""
    base = Path(folder)
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(_LocalSchemas(base))
    driver = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
        targetNamespace="urn:lantai:schema-driver" elementFormDefault="qualified">
      <xs:import namespace="{METS_NS}" schemaLocation="{(base / "mets.xsd").as_uri()}"/>
      <xs:import namespace="{PREMIS_NS}" schemaLocation="{(base / "premis.xsd").as_uri()}"/>
    </xs:schema>"""
    doc = etree.fromstring(driver.encode(), parser, base_url=(base / "driver.xsd").as_uri())
    return etree.XMLSchema(doc)


def validate_mets(path: Path, folder: Path | None = None) -> list[str] | None:
    """Validate a METS document against METS 1.12 + PREMIS 3. Returns the list of errors
    (empty when valid), or None when no schema folder is configured."""
    folder = folder or schema_dir()
    if folder is None or not (Path(folder) / "mets.xsd").exists():
        return None
    schema = mets_premis_schema(str(Path(folder).resolve()))
    tree = parse_file(path)
    if schema.validate(tree):
        return []
    return [f"{e.line}: {e.message}" for e in schema.error_log]
