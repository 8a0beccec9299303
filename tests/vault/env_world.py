"""Fixtures for the environment tests (sensors, readings, alarms, charts, reports, MQTT): a
paper vault with one sensor of each main kind and users per role. Test modules import the
fixtures they use from here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from lantai.accounts.roles import Role
from lantai.vault import services_env as env
from lantai.vault.models import Sensor, SensorKind, Vault
from lantai.vault.seed_env import seed_kinds
from ui.world import make_user


@dataclass
class Env:
    vault: Vault
    other: Vault
    temp: Sensor
    hum: Sensor
    smoke: Sensor
    water: Sensor
    door: Sensor
    other_temp: Sensor
    keeper: object
    archivist: object
    public: object

    def reading(self, sensor: Sensor, value, ts: datetime | None = None, **extra) -> dict:
        ts = ts or timezone.now()
        return {"sensor": sensor.code, "ts": ts.isoformat(), "value": value, **extra}


def make_vault(code: str, name: str) -> Vault:
    return Vault.objects.create(
        code=code,
        name=name,
        vault_type="paper",
        temp_min=Decimal("14"),
        temp_max=Decimal("24"),
        rh_min=Decimal("45"),
        rh_max=Decimal("60"),
        open_from=time(8, 0),
        open_until=time(18, 0),
    )


def make_sensor(vault: Vault, code: str, kind: str, **extra) -> Sensor:
    return Sensor.objects.create(
        vault=vault, code=code, kind=SensorKind.objects.get(code=kind), name=code, **extra
    )


@pytest.fixture
def envw(db) -> Env:
    seed_kinds(SensorKind)
    vault = make_vault("K01", "一号库房")
    other = make_vault("K02", "二号库房")
    keeper = make_user("env_keeper", Role.KEEPER)
    keeper.email = "keeper@example.org"
    keeper.save()
    vault.keepers.add(keeper)
    return Env(
        vault=vault,
        other=other,
        temp=make_sensor(vault, "K01-T1", "temperature"),
        hum=make_sensor(vault, "K01-H1", "humidity"),
        smoke=make_sensor(vault, "K01-S1", "smoke"),
        water=make_sensor(vault, "K01-W1", "water"),
        door=make_sensor(vault, "K01-D1", "door"),
        other_temp=make_sensor(other, "K02-T1", "temperature"),
        keeper=keeper,
        archivist=make_user("env_archivist", Role.ARCHIVIST),
        public=make_user("env_public", Role.PUBLIC),
    )


def minutes_ago(n: float) -> datetime:
    return timezone.now() - timedelta(minutes=n)


__all__ = ["Env", "env", "envw", "make_sensor", "make_vault", "minutes_ago"]
