"""A real harvester (oaipmh-scythe) against the running server: ListRecords over several
resumption pages, GetRecord, and a restricted item that never appears."""

from __future__ import annotations

import pytest
from oaipmh_scythe import Scythe

from lantai.holdings.models import Openness
from lantai.oai import services
from ui.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_scythe_harvests_the_open_catalog(live_server, settings):
    world = build_world()
    settings.LANTAI_OAI_PAGE_SIZE = 4
    closed = world.items_a[4]
    closed.openness = Openness.RESTRICTED
    closed.save()
    with Scythe(live_server.url + "/oai") as scythe:
        identify = scythe.identify()
        assert identify.protocolVersion == "2.0"
        records = list(scythe.list_records(metadata_prefix="oai_dc"))
        live = [r for r in records if not r.deleted]
        assert len(live) == 11  # 12 open, one closed since
        titles = {r.metadata["title"][0] for r in live}
        assert world.restricted_a.title not in titles and closed.title not in titles
        gone = [r.header.identifier for r in records if r.deleted]
        assert gone == [services.identifier_for(closed.pk)]
        ids = [r.header.identifier for r in records]
        assert len(ids) == len(set(ids)) == 12  # over 3 resumption pages, nothing twice
        one = scythe.get_record(
            identifier=services.identifier_for(world.items_b[0].pk), metadata_prefix="oai_dc"
        )
        assert one.metadata["title"] == [world.items_b[0].title]
        headers = list(scythe.list_identifiers(metadata_prefix="oai_dc", set_="fonds:Z102"))
        assert len(headers) == 3
