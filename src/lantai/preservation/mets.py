"""Read METS documents with PREMIS (Lantai's own AIPs, or another system's, e.g. Archivematica)
and write them back without losing a PREMIS object, event, agent or rights statement.

``read_mets(path)`` parses safely (no entities, no network) and returns a ``MetsDocument`` whose
PREMIS entities are found wherever they sit (dmdSec, techMD, digiprovMD, rightsMD, a
``premis:premis`` wrapper) in PREMIS 3 or PREMIS 2 namespaces; each keeps its XML element, so
``write_mets(doc)`` can rebuild a METS document that carries every entity unchanged (extensions
included), and reading that document again gives the same objects, events and agents.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from lantai.preservation.xmlschema import METS_NS, XLINK_NS, XSI_NS, parse_file

PREMIS_NAMESPACES = ("http://www.loc.gov/premis/v3", "info:lc/xmlns/premis-v2")
DC_NS = "http://purl.org/dc/elements/1.1/"


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _children(el, name: str) -> list:
    return [c for c in el if isinstance(c.tag, str) and _local(c.tag) == name]


def _text(el, *path: str) -> str:
    """Text of the first element along ``path`` (local names), or ""."""
    current = [el]
    for name in path:
        current = [c for parent in current for c in _children(parent, name)]
        if not current:
            return ""
    return (current[0].text or "").strip()


def _texts(el, *path: str) -> list[str]:
    current = [el]
    for name in path:
        current = [c for parent in current for c in _children(parent, name)]
    return [(c.text or "").strip() for c in current]


@dataclass
class PremisObject:
    kind: str  # file / intellectualEntity / representation / bitstream
    identifiers: list[tuple[str, str]]
    original_name: str
    size: int | None
    fixity: list[tuple[str, str]]
    formats: list[dict[str, str]]
    element: etree._Element = field(repr=False, compare=False)
    mdtype: str = "PREMIS:OBJECT"


@dataclass
class PremisEvent:
    identifier: tuple[str, str]
    event_type: str
    datetime: str
    details: list[str]
    outcomes: list[str]
    outcome_notes: list[str]
    agents: list[tuple[str, str]]
    objects: list[tuple[str, str]]
    element: etree._Element = field(repr=False, compare=False)


@dataclass
class PremisAgent:
    identifiers: list[tuple[str, str]]
    names: list[str]
    agent_type: str
    element: etree._Element = field(repr=False, compare=False)


@dataclass
class MetsFile:
    id: str
    use: str
    href: str
    mimetype: str = ""
    size: str = ""
    checksum: str = ""
    checksumtype: str = ""


@dataclass
class MetsDocument:
    objid: str = ""
    label: str = ""
    type: str = ""
    created: str = ""
    files: list[MetsFile] = field(default_factory=list)
    objects: list[PremisObject] = field(default_factory=list)
    events: list[PremisEvent] = field(default_factory=list)
    agents: list[PremisAgent] = field(default_factory=list)
    rights: list[etree._Element] = field(default_factory=list, repr=False)
    dublin_core: dict[str, list[str]] = field(default_factory=dict)


def _pairs(el, container: str, type_name: str, value_name: str) -> list[tuple[str, str]]:
    return [(_text(c, type_name), _text(c, value_name)) for c in _children(el, container)]


def _object(el) -> PremisObject:
    kind = el.get(f"{{{XSI_NS}}}type", "").rsplit(":", 1)[-1]
    chars = _children(el, "objectCharacteristics")
    fixity: list[tuple[str, str]] = []
    formats: list[dict[str, str]] = []
    size = None
    for ch in chars:
        fixity += _pairs(ch, "fixity", "messageDigestAlgorithm", "messageDigest")
        if _text(ch, "size").isdigit():
            size = int(_text(ch, "size"))
        for fmt in _children(ch, "format"):
            formats.append(
                {
                    "name": _text(fmt, "formatDesignation", "formatName"),
                    "version": _text(fmt, "formatDesignation", "formatVersion"),
                    "registry": _text(fmt, "formatRegistry", "formatRegistryName"),
                    "key": _text(fmt, "formatRegistry", "formatRegistryKey"),
                }
            )
    return PremisObject(
        kind=kind,
        identifiers=_pairs(el, "objectIdentifier", "objectIdentifierType", "objectIdentifierValue"),
        original_name=_text(el, "originalName"),
        size=size,
        fixity=fixity,
        formats=formats,
        element=el,
    )


def _event(el) -> PremisEvent:
    ident = _children(el, "eventIdentifier")
    identifier = (
        (_text(ident[0], "eventIdentifierType"), _text(ident[0], "eventIdentifierValue"))
        if ident
        else ("", "")
    )
    details = _texts(el, "eventDetailInformation", "eventDetail") or _texts(el, "eventDetail")
    return PremisEvent(
        identifier=identifier,
        event_type=_text(el, "eventType"),
        datetime=_text(el, "eventDateTime"),
        details=details,
        outcomes=_texts(el, "eventOutcomeInformation", "eventOutcome"),
        outcome_notes=_texts(
            el, "eventOutcomeInformation", "eventOutcomeDetail", "eventOutcomeDetailNote"
        ),
        agents=_pairs(
            el,
            "linkingAgentIdentifier",
            "linkingAgentIdentifierType",
            "linkingAgentIdentifierValue",
        ),
        objects=_pairs(
            el,
            "linkingObjectIdentifier",
            "linkingObjectIdentifierType",
            "linkingObjectIdentifierValue",
        ),
        element=el,
    )


def _agent(el) -> PremisAgent:
    return PremisAgent(
        identifiers=_pairs(el, "agentIdentifier", "agentIdentifierType", "agentIdentifierValue"),
        names=_texts(el, "agentName"),
        agent_type=_text(el, "agentType"),
        element=el,
    )


def parse_mets(tree: etree._ElementTree) -> MetsDocument:
    root = tree.getroot()
    if root.tag != f"{{{METS_NS}}}mets":
        raise ValueError("not a METS document (root element is not mets:mets)")
    doc = MetsDocument(
        objid=root.get("OBJID", ""),
        label=root.get("LABEL", ""),
        type=root.get("TYPE", ""),
    )
    header = root.find(f"{{{METS_NS}}}metsHdr")
    if header is not None:
        doc.created = header.get("CREATEDATE", "")
    for ns in PREMIS_NAMESPACES:
        for el in root.iter(f"{{{ns}}}object"):
            doc.objects.append(_object(el))
        for el in root.iter(f"{{{ns}}}event"):
            doc.events.append(_event(el))
        for el in root.iter(f"{{{ns}}}agent"):
            doc.agents.append(_agent(el))
        for el in root.iter(f"{{{ns}}}rightsStatement"):
            doc.rights.append(el)
    for el in root.iter(f"{{{DC_NS}}}*"):
        if el.text and el.text.strip():
            doc.dublin_core.setdefault(_local(el.tag), []).append(el.text.strip())
    for grp in root.iter(f"{{{METS_NS}}}fileGrp"):
        for f in grp.findall(f"{{{METS_NS}}}file"):
            loc = f.find(f"{{{METS_NS}}}FLocat")
            doc.files.append(
                MetsFile(
                    id=f.get("ID", ""),
                    use=grp.get("USE", ""),
                    href=loc.get(f"{{{XLINK_NS}}}href", "") if loc is not None else "",
                    mimetype=f.get("MIMETYPE", ""),
                    size=f.get("SIZE", ""),
                    checksum=f.get("CHECKSUM", ""),
                    checksumtype=f.get("CHECKSUMTYPE", ""),
                )
            )
    return doc


def read_mets(path: Path) -> MetsDocument:
    """Parse a METS file safely (entities refused, nothing fetched)."""
    return parse_mets(parse_file(Path(path)))


def write_mets(doc: MetsDocument) -> bytes:
    """A METS document carrying every PREMIS entity of ``doc`` unchanged (copied elements),
    its files and its Dublin Core; reading it back gives the same objects, events, agents."""
    m = f"{{{METS_NS}}}"
    root = etree.Element(
        f"{m}mets", nsmap={"mets": METS_NS, "xlink": XLINK_NS, "xsi": XSI_NS, "dc": DC_NS}
    )
    for attr, value in (("OBJID", doc.objid), ("LABEL", doc.label), ("TYPE", doc.type)):
        if value:
            root.set(attr, value)
    created = doc.created or datetime.now(UTC).isoformat(timespec="seconds")
    etree.SubElement(root, f"{m}metsHdr", CREATEDATE=created)
    if doc.dublin_core:
        dmd = etree.SubElement(root, f"{m}dmdSec", ID="dmd-1")
        wrap = etree.SubElement(dmd, f"{m}mdWrap", MDTYPE="DC")
        data = etree.SubElement(wrap, f"{m}xmlData")
        for name, values in doc.dublin_core.items():
            for value in values:
                etree.SubElement(data, f"{{{DC_NS}}}{name}").text = value
    amd = etree.SubElement(root, f"{m}amdSec", ID="amd-1")
    n = 0

    def section(kind: str, mdtype: str, element) -> None:
        nonlocal n
        n += 1
        sec = etree.SubElement(amd, f"{m}{kind}", ID=f"{kind}-{n}")
        wrap = etree.SubElement(sec, f"{m}mdWrap", MDTYPE=mdtype)
        etree.SubElement(wrap, f"{m}xmlData").append(copy.deepcopy(element))

    for obj in doc.objects:
        section("techMD", "PREMIS:OBJECT", obj.element)
    for rights in doc.rights:
        section("rightsMD", "PREMIS:RIGHTS", rights)
    for event in doc.events:
        section("digiprovMD", "PREMIS:EVENT", event.element)
    for agent in doc.agents:
        section("digiprovMD", "PREMIS:AGENT", agent.element)
    file_sec = etree.SubElement(root, f"{m}fileSec") if doc.files else None
    groups: dict[str, etree._Element] = {}
    for f in doc.files:
        if f.use not in groups:
            groups[f.use] = etree.SubElement(file_sec, f"{m}fileGrp", USE=f.use or "original")
        el = etree.SubElement(groups[f.use], f"{m}file", ID=f.id)
        for attr, value in (
            ("MIMETYPE", f.mimetype),
            ("SIZE", f.size),
            ("CHECKSUM", f.checksum),
            ("CHECKSUMTYPE", f.checksumtype),
        ):
            if value:
                el.set(attr, value)
        loc = etree.SubElement(el, f"{m}FLocat", LOCTYPE="OTHER", OTHERLOCTYPE="SYSTEM")
        loc.set(f"{{{XLINK_NS}}}type", "simple")
        loc.set(f"{{{XLINK_NS}}}href", f.href)
    smap = etree.SubElement(root, f"{m}structMap", TYPE="physical")
    div = etree.SubElement(smap, f"{m}div", LABEL=doc.label or doc.objid or "package")
    for f in doc.files:
        etree.SubElement(div, f"{m}fptr", FILEID=f.id)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
