"""OAI-PMH 2.0 data provider 目录发布 over the open catalog (开放目录).

What is published is exactly ``holdings.services.visible_items(AnonymousUser())``: open, 公开
items not inside a closed volume. An item that becomes restricted disappears from every list
(and, under the ``transient`` policy, is reported as deleted while its tombstone lasts).

* Verbs: Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords, GetRecord.
* Metadata: ``oai_dc`` (simple Dublin Core) only.
* Sets: ``fonds`` / ``fonds:<全宗号>`` and ``category`` / ``category:<门类代码>``.
* Paging: keyset on the item id; the resumption token is the signed, time-stamped query plus
  the last id sent, valid ``LANTAI_OAI_TOKEN_SECONDS`` (default one hour).
* Datestamps: ``Item.updated_at`` in UTC, granularity ``YYYY-MM-DDThh:mm:ssZ`` (day
  granularity accepted in from/until).

Errors follow the protocol (section 3.6): badVerb, badArgument, cannotDisseminateFormat,
idDoesNotExist, noRecordsMatch, badResumptionToken, noMetadataFormats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from lxml import etree

from lantai.holdings.models import Category, Item
from lantai.holdings.services import visible_fonds, visible_items
from lantai.oai.models import Tombstone

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"

VERBS = {
    # verb: (required, optional, exclusive)
    "Identify": (set(), set(), None),
    "ListMetadataFormats": (set(), {"identifier"}, None),
    "ListSets": (set(), set(), "resumptionToken"),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "GetRecord": ({"identifier", "metadataPrefix"}, set(), None),
}
FORMATS = {"oai_dc": (OAI_DC_SCHEMA, OAI_DC_NS)}
_SALT = "lantai.oai.resumption"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_SET = re.compile(r"^(fonds|category)(?::([A-Za-z0-9\-_.]+))?$")


def page_size() -> int:
    return int(getattr(settings, "LANTAI_OAI_PAGE_SIZE", 100))


def token_seconds() -> int:
    return int(getattr(settings, "LANTAI_OAI_TOKEN_SECONDS", 3600))


def deleted_policy() -> str:
    """``transient`` (tombstones kept, not guaranteed complete) or ``no``."""
    policy = getattr(settings, "LANTAI_OAI_DELETED_RECORD", "transient")
    return policy if policy in ("transient", "no") else "transient"


def repository_id() -> str:
    return getattr(settings, "LANTAI_OAI_REPOSITORY_ID", "") or (
        f"lantai-{settings.LANTAI_ARCHIVE_CODE}"
    )


def identifier_for(item_id: int) -> str:
    return f"oai:{repository_id()}:item-{item_id}"


def item_id_of(identifier: str) -> int | None:
    prefix = f"oai:{repository_id()}:item-"
    if not identifier.startswith(prefix):
        return None
    tail = identifier[len(prefix) :]
    return int(tail) if tail.isdigit() and len(tail) < 19 else None


def published_items() -> QuerySet[Item]:
    """THE scope of the feed: what an anonymous visitor may see."""
    return visible_items(AnonymousUser())


def is_published(item_id: int) -> bool:
    return published_items().filter(pk=item_id).exists()


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OaiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Query:
    """A ListIdentifiers/ListRecords query and where its paging stands."""

    prefix: str
    set_spec: str = ""
    from_: str = ""
    until: str = ""
    after: int = 0
    cursor: int = 0
    total: int | None = None
    args: dict = field(default_factory=dict)

    def payload(self) -> dict:
        return {
            "p": self.prefix,
            "s": self.set_spec,
            "f": self.from_,
            "u": self.until,
            "a": self.after,
            "c": self.cursor,
            "t": self.total,
        }


# --- argument parsing -----------------------------------------------------------------------


def parse_datestamp(value: str, *, end: bool) -> tuple[datetime, str]:
    """(aware UTC datetime, granularity) or badArgument."""
    if _SECOND.match(value):
        try:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise OaiError("badArgument", f"Illegal datestamp: {value}") from None
        # Datestamps are to the second: "until" includes that whole second.
        return (moment + timedelta(microseconds=999_999) if end else moment), "second"
    if _DAY.match(value):
        try:
            moment = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise OaiError("badArgument", f"Illegal datestamp: {value}") from None
        return (moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment), "day"
    raise OaiError("badArgument", f"Illegal datestamp: {value}")


def check_arguments(verb: str, args: dict[str, list[str]]) -> dict[str, str]:
    """The verb's arguments as single values, or badArgument (missing, illegal, repeated)."""
    required, optional, exclusive = VERBS[verb]
    for key, values in args.items():
        if len(values) != 1:
            raise OaiError("badArgument", f"Repeated argument: {key}")
    single = {key: values[0] for key, values in args.items()}
    allowed = required | optional | ({exclusive} if exclusive else set())
    illegal = sorted(set(single) - allowed)
    if illegal:
        raise OaiError("badArgument", f"Illegal argument(s): {', '.join(illegal)}")
    if exclusive and exclusive in single:
        if len(single) > 1:
            raise OaiError("badArgument", f"{exclusive} is an exclusive argument")
        return single
    missing = sorted(required - set(single))
    if missing:
        raise OaiError("badArgument", f"Missing argument(s): {', '.join(missing)}")
    return single


def check_prefix(prefix: str) -> None:
    if prefix not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"Metadata format not supported: {prefix}")


def query_from_args(args: dict[str, str]) -> Query:
    if "resumptionToken" in args:
        return decode_token(args["resumptionToken"])
    check_prefix(args["metadataPrefix"])
    query = Query(
        args["metadataPrefix"], args.get("set", ""), args.get("from", ""), args.get("until", "")
    )
    grains = []
    if query.from_:
        grains.append(parse_datestamp(query.from_, end=False)[1])
    if query.until:
        grains.append(parse_datestamp(query.until, end=True)[1])
    if len(set(grains)) > 1:
        raise OaiError("badArgument", "from and until must have the same granularity")
    if query.set_spec and not _SET.match(query.set_spec):
        raise OaiError("badArgument", f"Illegal setSpec: {query.set_spec}")
    return query


# --- resumption tokens -------------------------------------------------------------------------


def encode_token(query: Query) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object(query.payload(), compress=True)


def decode_token(token: str) -> Query:
    try:
        data = signing.TimestampSigner(salt=_SALT).unsign_object(token, max_age=token_seconds())
    except signing.SignatureExpired:
        raise OaiError("badResumptionToken", "The resumptionToken has expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise OaiError("badResumptionToken", "The resumptionToken is invalid") from None
    try:
        return Query(
            prefix=str(data["p"]),
            set_spec=str(data["s"]),
            from_=str(data["f"]),
            until=str(data["u"]),
            after=int(data["a"]),
            cursor=int(data["c"]),
            total=None if data["t"] is None else int(data["t"]),
        )
    except (KeyError, TypeError, ValueError):
        raise OaiError("badResumptionToken", "The resumptionToken is invalid") from None


# --- selections --------------------------------------------------------------------------------


def _set_filter(set_spec: str, fonds_field: str, category_field: str) -> Q:
    match = _SET.match(set_spec)
    if not match:
        return Q(pk__in=[])
    kind, code = match.groups()
    if code is None:
        return Q()
    return Q(**{fonds_field if kind == "fonds" else category_field: code})


def _selection(query: Query) -> tuple[QuerySet[Item], QuerySet[Tombstone] | None]:
    items = published_items()
    tombs = Tombstone.objects.all() if deleted_policy() == "transient" else None
    if query.from_:
        start, _grain = parse_datestamp(query.from_, end=False)
        items = items.filter(updated_at__gte=start)
        tombs = tombs.filter(withdrawn_at__gte=start) if tombs is not None else None
    if query.until:
        end, _grain = parse_datestamp(query.until, end=True)
        items = items.filter(updated_at__lte=end)
        tombs = tombs.filter(withdrawn_at__lte=end) if tombs is not None else None
    if query.set_spec:
        items = items.filter(_set_filter(query.set_spec, "fonds__code", "category__code"))
        if tombs is not None:
            tombs = tombs.filter(_set_filter(query.set_spec, "fonds_code", "category_code"))
    return items, tombs


@dataclass
class Entry:
    """One header (and record): a published item or a tombstone."""

    item_id: int
    datestamp: datetime
    sets: list[str]
    item: Item | None = None

    @property
    def deleted(self) -> bool:
        return self.item is None


def _item_entry(item: Item) -> Entry:
    return Entry(
        item.pk,
        item.updated_at,
        [f"fonds:{item.fonds.code}", f"category:{item.category.code}"],
        item,
    )


def _tomb_entry(tomb: Tombstone) -> Entry:
    sets = []
    if tomb.fonds_code:
        sets.append(f"fonds:{tomb.fonds_code}")
    if tomb.category_code:
        sets.append(f"category:{tomb.category_code}")
    return Entry(tomb.item_id, tomb.withdrawn_at, sets)


def list_page(query: Query) -> tuple[list[Entry], Query | None, Query]:
    """One page of entries in item-id order (keyset), the query for the next page (None at
    the end) and the query as answered (with its total). noRecordsMatch when empty."""
    items, tombs = _selection(query)
    size = page_size()
    if query.total is None:
        total = items.count() + (tombs.count() if tombs is not None else 0)
        query.total = total
    rows = list(
        items.filter(pk__gt=query.after)
        .select_related("fonds", "category", "unit")
        .order_by("pk")[: size + 1]
    )
    entries = [_item_entry(item) for item in rows]
    if tombs is not None:
        published = {e.item_id for e in entries}
        dead = tombs.filter(item_id__gt=query.after).order_by("item_id")[: size + 1]
        entries += [_tomb_entry(t) for t in dead if t.item_id not in published]
        entries.sort(key=lambda e: e.item_id)
    if not entries and query.cursor == 0:
        raise OaiError("noRecordsMatch", "No records match the request")
    more = len(entries) > size
    entries = entries[:size]
    following = None
    if more:
        following = Query(
            query.prefix,
            query.set_spec,
            query.from_,
            query.until,
            after=entries[-1].item_id,
            cursor=query.cursor + len(entries),
            total=query.total,
        )
    return entries, following, query


def get_entry(identifier: str) -> Entry:
    item_id = item_id_of(identifier)
    if item_id is not None:
        item = (
            published_items().select_related("fonds", "category", "unit").filter(pk=item_id).first()
        )
        if item is not None:
            return _item_entry(item)
        if deleted_policy() == "transient":
            tomb = Tombstone.objects.filter(item_id=item_id).first()
            if tomb is not None:
                return _tomb_entry(tomb)
    raise OaiError("idDoesNotExist", f"No matching identifier: {identifier}")


def list_sets() -> list[tuple[str, str]]:
    """(setSpec, setName): the two groupings, then each fonds and category with open items."""
    sets = [("fonds", "全宗 Fonds"), ("category", "门类 Categories")]
    for fonds in visible_fonds(AnonymousUser()).order_by("code"):
        sets.append((f"fonds:{fonds.code}", fonds.name))
    published = published_items().filter(category=OuterRef("pk"))
    for category in Category.objects.filter(Exists(published)).order_by("code"):
        sets.append((f"category:{category.code}", category.name))
    return [(spec, name) for spec, name in sets if _SET.match(spec)]


def earliest_datestamp() -> datetime:
    found = published_items().aggregate(first=Min("updated_at"))["first"]
    if deleted_policy() == "transient":
        gone = Tombstone.objects.aggregate(first=Min("withdrawn_at"))["first"]
        if gone and (found is None or gone < found):
            found = gone
    return found or datetime(2000, 1, 1, tzinfo=UTC)


# --- tombstones (transient deleted-record policy) ------------------------------------------------


def withdraw(item_id: int, fonds_code: str, category_code: str) -> None:
    """Record that a published item left the open catalog."""
    Tombstone.objects.update_or_create(
        item_id=item_id,
        defaults={
            "fonds_code": fonds_code,
            "category_code": category_code,
            "withdrawn_at": timezone.now(),
        },
    )


def republish(item_id: int) -> None:
    Tombstone.objects.filter(item_id=item_id).delete()


def latest_change() -> datetime | None:
    return published_items().aggregate(last=Max("updated_at"))["last"]


# --- XML -----------------------------------------------------------------------------------------


def _sub(parent, tag: str, text: str | None = None, ns: str = OAI_NS, **attrs):
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", **attrs)
    if text is not None:
        element.text = text
    return element


def envelope(base_url: str, args: dict[str, str] | None) -> etree._Element:
    """The OAI-PMH root with responseDate and request. ``args`` None (badVerb, badArgument):
    the request element carries no attributes, as the protocol requires."""
    root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} {OAI_SCHEMA}")
    _sub(root, "responseDate", stamp(timezone.now()))
    request = _sub(root, "request", base_url)
    for key, value in sorted((args or {}).items()):
        request.set(key, value)
    return root


def add_error(root, error: OaiError) -> None:
    _sub(root, "error", error.message, code=error.code)


def add_header(parent, entry: Entry) -> None:
    header = _sub(parent, "header")
    if entry.deleted:
        header.set("status", "deleted")
    _sub(header, "identifier", identifier_for(entry.item_id))
    _sub(header, "datestamp", stamp(entry.datestamp))
    for spec in entry.sets:
        if _SET.match(spec):
            _sub(header, "setSpec", spec)


def _dc(parent, item: Item, base_url: str) -> None:
    dc = etree.SubElement(
        parent, f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
    )
    dc.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC_SCHEMA}")

    def add(tag: str, value) -> None:
        if value not in (None, ""):
            _sub(dc, tag, str(value), ns=DC_NS)

    add("title", item.title)
    add("creator", item.responsible or (item.unit.name if item.unit_id else item.fonds.name))
    add("publisher", settings.LANTAI_ARCHIVE_NAME)
    for word in (item.keywords or "").replace("；", " ").replace(";", " ").split():
        add("subject", word)
    date = item.date or item.date_start
    add("date", date.isoformat() if date else str(item.year))
    add("type", item.category.name)
    add("format", item.get_carrier_display())
    add("identifier", item.reference_code)
    add("source", f"{item.fonds.code} {item.fonds.name}")
    add("relation", item.doc_number)
    add("language", "zh")
    add("rights", settings.LANTAI_ARCHIVE_NAME)


def add_record(parent, entry: Entry, base_url: str) -> None:
    record = _sub(parent, "record")
    add_header(record, entry)
    if not entry.deleted:
        _dc(_sub(record, "metadata"), entry.item, base_url)


def add_token(parent, following: Query | None, answered: Query) -> None:
    if following is None and answered.cursor == 0:
        return  # a complete list in one response carries no token
    token = _sub(parent, "resumptionToken")
    token.set("cursor", str(answered.cursor))
    if answered.total is not None:
        token.set("completeListSize", str(answered.total))
    if following is not None:
        expiry = timezone.now() + timedelta(seconds=token_seconds())
        token.set("expirationDate", stamp(expiry))
        token.text = encode_token(following)


def render(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
