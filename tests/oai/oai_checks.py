"""Structure checks for OAI-PMH 2.0 responses (no XSD for OAI-PMH is in the shared test data,
so these follow the schema's rules by hand: element order, required children, datestamp
formats, error codes, and the request element's attributes)."""

from __future__ import annotations

import re

from lxml import etree

NS = {"o": "http://www.openarchives.org/OAI/2.0/"}
OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
UTC_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ERROR_CODES = {
    "cannotDisseminateFormat",
    "idDoesNotExist",
    "badArgument",
    "badVerb",
    "noMetadataFormats",
    "noRecordsMatch",
    "badResumptionToken",
    "noSetHierarchy",
}
VERBS = {
    "Identify",
    "ListMetadataFormats",
    "ListSets",
    "GetRecord",
    "ListIdentifiers",
    "ListRecords",
}


def check_header(header) -> None:
    children = [c.tag for c in header]
    assert children[0] == OAI + "identifier" and children[1] == OAI + "datestamp"
    assert all(tag == OAI + "setSpec" for tag in children[2:])
    assert UTC_SECONDS.match(header.find(OAI + "datestamp").text)
    assert header.get("status") in (None, "deleted")


def check_record(record) -> None:
    parts = [c.tag for c in record]
    check_header(record[0])
    if record[0].get("status") == "deleted":
        assert parts == [OAI + "header"]
    else:
        assert parts[:2] == [OAI + "header", OAI + "metadata"]
        dc = record.find(OAI + "metadata")[0]
        assert dc.tag == "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc"
        assert all(child.tag.startswith(DC) for child in dc)
        assert dc.find(DC + "title") is not None


def parse(body: bytes):
    """Parse and check a response; returns the root."""
    root = etree.fromstring(body)
    assert root.tag == OAI + "OAI-PMH"
    kids = list(root)
    assert kids[0].tag == OAI + "responseDate" and UTC_SECONDS.match(kids[0].text)
    assert kids[1].tag == OAI + "request" and kids[1].text.startswith("http")
    rest = kids[2:]
    assert rest, "a response holds a verb element or errors"
    if rest[0].tag == OAI + "error":
        assert all(k.tag == OAI + "error" and k.get("code") in ERROR_CODES for k in rest)
        if any(k.get("code") in ("badVerb", "badArgument") for k in rest):
            assert dict(kids[1].attrib) == {}
        return root
    assert len(rest) == 1 and rest[0].tag[len(OAI) :] in VERBS
    body_el = rest[0]
    verb = body_el.tag[len(OAI) :]
    assert kids[1].get("verb") == verb
    if verb in ("ListIdentifiers", "ListRecords"):
        items = [c for c in body_el if c.tag != OAI + "resumptionToken"]
        assert items
        for child in items:
            (check_header if verb == "ListIdentifiers" else check_record)(child)
        tokens = body_el.findall(OAI + "resumptionToken")
        assert len(tokens) <= 1 and (not tokens or body_el[-1] is tokens[0])
    elif verb == "GetRecord":
        assert len(body_el) == 1
        check_record(body_el[0])
    elif verb == "Identify":
        names = [c.tag[len(OAI) :] for c in body_el]
        assert names[:7] == [
            "repositoryName",
            "baseURL",
            "protocolVersion",
            "adminEmail",
            "earliestDatestamp",
            "deletedRecord",
            "granularity",
        ]
    return root


def error_codes(root) -> list[str]:
    return [e.get("code") for e in root.findall("o:error", NS)]


def identifiers(root) -> list[str]:
    return [e.text for e in root.iterfind(".//o:header/o:identifier", NS)]
