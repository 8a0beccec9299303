"""SIGKILL of a real ``lantai run_huey`` worker at several moments of an ingest.

Whatever the moment, no AIP is registered and no item is visible in holdings until the SIP is
stored; after a restart the SIP is resumed (and stored exactly once) or, after repeated
interruptions, marked *error* with its reason. The worker is stopped at exact steps with the
pipeline's pause points (LANTAI_INGEST_PAUSE_AT) and killed from outside, and once at whatever
moment the database first shows the *storing* stage.
"""

from __future__ import annotations

import pytest

from lantai.holdings.models import Item
from lantai.ingest import services
from lantai.ingest.models import Sip, SipStatus
from lantai.jobs.models import Job

from .conftest import big_pdf, make_bag, wait_for

pytestmark = [pytest.mark.slow]


def _aip_count() -> int:
    from lantai.preservation.models import Aip

    return Aip.objects.count()


def _sip(tworld, folder) -> Sip:
    token = services.authenticate_token(tworld.tokens["a"])
    sip, _created = services.receive_sip(folder, unit=tworld.unit_a, fonds="Z109", token=token)
    return sip


def _status(sip: Sip) -> str:
    sip.refresh_from_db()
    return sip.status


def _nothing_registered() -> None:
    assert Item.objects.count() == 0
    assert _aip_count() == 0


def _pause_env(point: str, marker) -> dict[str, str]:
    return {"LANTAI_INGEST_PAUSE_AT": point, "LANTAI_INGEST_PAUSE_FILE": str(marker)}


def _kill_at(worker, point: str, tmp_path) -> None:
    marker = tmp_path / f"paused-{point}"
    marker.unlink(missing_ok=True)
    worker.start(**_pause_env(point, marker))
    wait_for(marker.exists, timeout=60)
    worker.kill()


@pytest.mark.parametrize(
    "point", ["opening", "checked", "storing", "item_created", "aip_stored", "before_commit"]
)
def test_killed_at_a_step_leaves_nothing_and_resumes(worker, tworld, tmp_path, point):
    folder = make_bag(tmp_path / "bag", n_files=3)
    marker = tmp_path / "paused"
    worker.start(**_pause_env(point, marker))
    sip = _sip(tworld, folder)
    wait_for(marker.exists, timeout=60)
    worker.kill()

    assert _status(sip) in services.ACTIVE
    _nothing_registered()  # the killed transaction left no item, no AIP

    # A new worker resumes the SIP at start-up and stores it exactly once.
    worker.start()
    wait_for(lambda: _status(sip) in services.FINAL, timeout=90)
    assert sip.status == SipStatus.STORED, (sip.error, worker.output()[-3000:])
    assert Item.objects.count() == 1 and _aip_count() == 1
    assert sip.item_id == Item.objects.get().pk
    jobs = Job.objects.filter(kind=services.JOB_KIND, params__sip=str(sip.pk))
    assert jobs.count() == 2
    # The SIP is stored a moment before its job row is closed.
    wait_for(lambda: "running" not in set(jobs.values_list("status", flat=True)), timeout=30)
    assert sorted(jobs.values_list("status", flat=True)) == ["failed", "succeeded"]


def test_killed_when_storing_shows_in_the_database(worker, tworld, tmp_path):
    # Big enough that building and storing the AIP takes a moment.
    payload = {f"正文{n}.pdf": big_pdf(3 * 1024 * 1024) for n in range(4)}
    folder = make_bag(tmp_path / "big", payload=payload)
    worker.start()
    sip = _sip(tworld, folder)
    wait_for(
        lambda: Sip.objects.filter(pk=sip.pk, stage__in=["storing", "stored"]).exists(),
        timeout=90,
        step=0.01,
    )
    worker.kill()
    sip.refresh_from_db()
    if sip.status == SipStatus.STORED:  # the kill came after the commit: all of it is there
        assert Item.objects.count() == 1 and _aip_count() == 1
        return
    _nothing_registered()
    worker.start()
    wait_for(lambda: _status(sip) in services.FINAL, timeout=90)
    assert sip.status == SipStatus.STORED, sip.error
    assert Item.objects.count() == 1 and _aip_count() == 1


def test_repeated_interruptions_mark_the_sip_error_with_the_reason(worker, tworld, tmp_path):
    folder = make_bag(tmp_path / "bag")
    marker = tmp_path / "paused-first"
    worker.start(**_pause_env("checked", marker))
    sip = _sip(tworld, folder)
    wait_for(marker.exists, timeout=60)
    worker.kill()
    for _n in range(services.MAX_ATTEMPTS - 1):
        _kill_at(worker, "checked", tmp_path)  # resumed at start-up, killed again
        _nothing_registered()
    worker.start()
    wait_for(lambda: _status(sip) in services.FINAL, timeout=60)
    assert sip.status == SipStatus.ERROR
    assert "处理进程多次中断" in sip.error and "执行进程已中断" in sip.error
    _nothing_registered()
