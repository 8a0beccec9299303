# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""The OAI-PMH endpoint answered verb by verb, with the protocol's errors; only the open
catalog is ever published."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from lantai.holdings.models import Classification, Item, Openness
from lantai.oai import services
from lantai.oai.models import Tombstone
from oai.oai_checks import error_codes, identifiers, parse
from ui.world import world  # noqa: F401

pytestmark = pytest.mark.django_db


def oai(**params):
    response = Client().get("/oai", params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return parse(response.content)


def ident(item: Item) -> str:
    return services.identifier_for(item.pk)


def test_identify_and_formats(world):
    root = oai(verb="Identify")
    text = root.find(".//{*}Identify")
    assert text.findtext("{*}baseURL").endswith("/oai")
    assert text.findtext("{*}protocolVersion") == "2.0"
    assert text.findtext("{*}deletedRecord") == "transient"
    formats = oai(verb="ListMetadataFormats")
    assert [e.text for e in formats.iterfind(".//{*}metadataPrefix")] == ["oai_dc"]
    one = oai(verb="ListMetadataFormats", identifier=ident(world.items_a[0]))
    assert one.find(".//{*}ListMetadataFormats") is not None


def test_list_sets_only_open_fonds_and_categories(world):
    root = oai(verb="ListSets")
    specs = [e.text for e in root.iterfind(".//{*}setSpec")]
    assert {"fonds", "category", "fonds:Z101", "fonds:Z102", "category:WS", "category:KJ"} <= set(
        specs
    )
    # A fonds with only restricted items is no set of the open catalog.
    for item in world.items_b:
        item.openness = Openness.RESTRICTED
        item.save()
    specs = [e.text for e in oai(verb="ListSets").iterfind(".//{*}setSpec")]
    assert "fonds:Z102" not in specs


def test_list_identifiers_publishes_only_the_open_catalog(world):
    root = oai(verb="ListIdentifiers", metadataPrefix="oai_dc")
    got = set(identifiers(root))
    assert ident(world.restricted_a) not in got
    open_ids = {
        services.identifier_for(pk)
        for pk in services.published_items().values_list("pk", flat=True)
    }
    assert got == open_ids and len(got) == 12
    # Sets select.
    root = oai(verb="ListIdentifiers", metadataPrefix="oai_dc", set="fonds:Z102")
    assert set(identifiers(root)) == {ident(i) for i in world.items_b}
    root = oai(verb="ListRecords", metadataPrefix="oai_dc", set="category:KJ")
    assert len(identifiers(root)) == 2


def test_get_record_dublin_core(world):
    item = world.items_a[0]
    root = oai(verb="GetRecord", identifier=ident(item), metadataPrefix="oai_dc")
    dc = root.find(".//{http://www.openarchives.org/OAI/2.0/oai_dc/}dc")
    assert dc.findtext("{http://purl.org/dc/elements/1.1/}title") == item.title
    values = [e.text for e in dc]
    assert item.reference_code in values
    specs = [e.text for e in root.iterfind(".//{*}setSpec")]
    assert specs == ["fonds:Z101", "category:WS"]


def test_restricted_item_is_unknown_and_withdrawn_item_is_deleted(world):
    assert error_codes(
        oai(verb="GetRecord", identifier=ident(world.restricted_a), metadataPrefix="oai_dc")
    ) == ["idDoesNotExist"]
    assert not Tombstone.objects.filter(item_id=world.restricted_a.pk).exists()
    # An open item is closed: it leaves every list, and is reported deleted (transient).
    item = world.items_a[1]
    item.openness = Openness.RESTRICTED
    item.save()
    listed = oai(verb="ListRecords", metadataPrefix="oai_dc")
    headers = {
        h.findtext("{*}identifier"): h.get("status") for h in listed.iterfind(".//{*}header")
    }
    assert headers[ident(item)] == "deleted"
    record = oai(verb="GetRecord", identifier=ident(item), metadataPrefix="oai_dc")
    assert record.find(".//{*}metadata") is None
    assert (
        item.title.encode()
        not in Client().get("/oai", {"verb": "ListRecords", "metadataPrefix": "oai_dc"}).content
    )
    # Re-opened: published again, the tombstone gone.
    item.openness = Openness.OPEN
    item.save()
    assert not Tombstone.objects.filter(item_id=item.pk).exists()
    # A raised 密级 also withdraws it; deleting an open item leaves a tombstone.
    other = world.items_a[2]
    other.classification = Classification.INTERNAL
    other.save()
    assert Tombstone.objects.filter(item_id=other.pk).exists()
    gone = world.items_b[0]
    gone_id = gone.pk
    gone.delete()
    record = oai(
        verb="GetRecord", identifier=services.identifier_for(gone_id), metadataPrefix="oai_dc"
    )
    assert record.find(".//{*}header").get("status") == "deleted"
    never = world.restricted_a
    never_id = never.pk
    never.delete()
    assert not Tombstone.objects.filter(item_id=never_id).exists()


def test_no_deleted_records_policy(world, settings):
    settings.LANTAI_OAI_DELETED_RECORD = "no"
    item = world.items_a[1]
    item.openness = Openness.RESTRICTED
    item.save()
    root = oai(verb="Identify")
    assert root.findtext(".//{*}deletedRecord") == "no"
    listed = oai(verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert ident(item) not in identifiers(listed)
    assert error_codes(oai(verb="GetRecord", identifier=ident(item), metadataPrefix="oai_dc")) == [
        "idDoesNotExist"
    ]


def test_paging_with_resumption_tokens(world, settings):
    settings.LANTAI_OAI_PAGE_SIZE = 5
    seen: list[str] = []
    root = oai(verb="ListRecords", metadataPrefix="oai_dc")
    pages = 1
    while True:
        seen += identifiers(root)
        token = root.find(".//{*}resumptionToken")
        assert token is not None and token.get("completeListSize") == "12"
        assert token.get("cursor") == str(5 * (pages - 1))
        if not token.text:
            break
        assert token.get("expirationDate")
        root = oai(verb="ListRecords", resumptionToken=token.text)
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == 12


def test_from_until(world):
    item = world.items_a[0]
    old = timezone.now() - timedelta(days=400)
    Item.objects.filter(pk=item.pk).update(updated_at=old)
    until = (old + timedelta(days=1)).strftime("%Y-%m-%d")
    assert identifiers(oai(verb="ListIdentifiers", metadataPrefix="oai_dc", until=until)) == [
        ident(item)
    ]
    since = (old + timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z")
    root = oai(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": since})
    assert ident(item) not in identifiers(root) and len(identifiers(root)) == 11


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "badVerb"),
        ({"verb": "Harvest"}, "badVerb"),
        ({"verb": ["Identify", "Identify"]}, "badVerb"),
        ({"verb": "Identify", "extra": "1"}, "badArgument"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": ["oai_dc", "oai_dc"]}, "badArgument"),
        ({"verb": "GetRecord", "metadataPrefix": "oai_dc"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-13-01"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument"),
        (
            {
                "verb": "ListRecords",
                "metadataPrefix": "oai_dc",
                "from": "2020-01-01",
                "until": "2021-01-01T00:00:00Z",
            },
            "badArgument",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "x"},
            "badArgument",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        (
            {"verb": "GetRecord", "metadataPrefix": "marc21", "identifier": "oai:x:1"},
            "cannotDisseminateFormat",
        ),
        (
            {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:elsewhere:item-1"},
            "idDoesNotExist",
        ),
        ({"verb": "ListMetadataFormats", "identifier": "nope"}, "idDoesNotExist"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "fonds:X999"},
            "noRecordsMatch",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2999-01-01"},
            "noRecordsMatch",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "bogus"}, "badArgument"),
        ({"verb": "ListRecords", "resumptionToken": "garbage"}, "badResumptionToken"),
        ({"verb": "ListSets", "resumptionToken": "garbage"}, "badResumptionToken"),
    ],
)
def test_protocol_errors(world, params, code):
    assert error_codes(oai(**params)) == [code]


def test_expired_and_forged_tokens(world, settings):
    settings.LANTAI_OAI_TOKEN_SECONDS = 0
    query = services.Query("oai_dc", after=1, cursor=5, total=12)
    token = services.encode_token(query)
    assert error_codes(oai(verb="ListRecords", resumptionToken=token)) == ["badResumptionToken"]
    forged = signing.dumps(query.payload())
    settings.LANTAI_OAI_TOKEN_SECONDS = 3600
    assert error_codes(oai(verb="ListRecords", resumptionToken=forged)) == ["badResumptionToken"]


def test_post_requests(world):
    response = Client().post("/oai", {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    assert len(identifiers(parse(response.content))) == 12
