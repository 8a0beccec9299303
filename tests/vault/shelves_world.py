"""Fixtures for the shelves tests (vaults, locations, boxes, circulation, inventories, labels):
the small archive of ``ui/world.py`` plus a paper vault with two shelving runs, written through
the shelves services. Test modules import the fixtures they use from here."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from lantai.accounts.roles import Role
from lantai.holdings.models import Item, Volume
from lantai.vault import services_shelves as shelves
from lantai.vault.models import Box, Location, Vault
from ui.world import World, build_world, make_user


@dataclass
class Shelves:
    world: World
    vault: Vault
    a: Location  # K01-01-01-01-01
    b: Location  # K01-01-01-01-02
    c: Location  # K01-02-01-01-01
    box1: Box  # at a, holds items_a[0]
    box2: Box  # at a, empty
    volume: Volume  # placed directly at b
    item: Item  # items_a[1], placed directly at b

    @property
    def keeper(self):
        return self.world.users[Role.KEEPER]

    @property
    def archivist(self):
        return self.world.users[Role.ARCHIVIST]


def build_shelves(world: World) -> Shelves:
    keeper = world.users[Role.KEEPER]
    vault = shelves.create_vault(keeper, {"code": "K01", "name": "一号库房", "vault_type": "paper"})
    shelves.create_locations(
        keeper, vault, {"rows": "1-2", "columns": "1", "sections": "1", "shelves": "1-2"}
    )
    loc = {x.code: x for x in vault.locations.all()}
    a, b, c = loc["K01-01-01-01-01"], loc["K01-01-01-01-02"], loc["K01-02-01-01-01"]
    box1 = shelves.save_box(keeper, {"code": "Z101-WS-2011-001", "location": a, "title": "文书"})
    box2 = shelves.save_box(keeper, {"code": "Z101-WS-2011-002", "location": a})
    shelves.place(keeper, world.items_a[0], box=box1)
    shelves.place(keeper, world.volume_a, location=b)
    shelves.place(keeper, world.items_a[1], location=b)
    return Shelves(world, vault, a, b, c, box1, box2, world.volume_a, world.items_a[1])


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def keeper2(world):
    return make_user("keeper2", Role.KEEPER)


@pytest.fixture
def sh(world) -> Shelves:
    return build_shelves(world)
