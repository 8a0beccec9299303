# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""The person index and the lookups: a citizen finds only their own records, and only by
their registered identity; staff search for walk-in citizens; the index follows the items."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from lantai.audit.models import AuditEntry
from lantai.holdings.models import Category, Item
from lantai.livelihood import demo, persons, services
from lantai.livelihood.models import PersonFields, PersonRef
from lantai.portal import services as portal
from livelihood.world import LI_ID, OTHER_ZHANG_ID, ZHANG_ID, lw  # noqa: F401

pytestmark = pytest.mark.django_db


def test_index_follows_items(lw):
    refs = PersonRef.objects.filter(item=lw.marriage).order_by("role")
    assert [(r.role, r.name, r.birth_year) for r in refs] == [
        ("女方", "李四", 1982),
        ("男方", "张三", 1980),
    ]
    assert refs[1].id_hash == portal.id_number_hash(ZHANG_ID)  # lower-case x, 張 → 张
    assert PersonRef.objects.get(item=lw.old).id_hash is None
    assert not PersonRef.objects.filter(item=lw.ws_note).exists()  # not a livelihood category
    # An edit re-indexes; a delete removes the rows.
    lw.insurance.extra = {"姓名": "张叁", "出生年份": 1980}
    lw.insurance.save()
    assert PersonRef.objects.get(item=lw.insurance).name == "张叁"
    pk = lw.other_zhang.pk
    lw.other_zhang.delete()
    assert not PersonRef.objects.filter(item_id=pk).exists()


def test_configured_fields_and_reindex_command(lw, capsys):
    sb = Category.objects.get(code="SB")
    PersonFields.objects.create(
        category=sb, roles=[{"role": "参保人", "name": ["参保人"], "id": ["证件号"], "birth": []}]
    )
    # Configured keys replace the defaults: the SB items (keyed 姓名) have no 参保人 now.
    assert not PersonRef.objects.filter(item__category=sb).exists()
    PersonFields.objects.filter(category=sb).delete()
    PersonRef.objects.all().delete()
    call_command("livelihood-reindex", verbosity=1)
    out = capsys.readouterr().out
    assert "人员索引已重建" in out
    assert PersonRef.objects.count() == 2 + 4  # marriage: two parties; four SB records


def test_demo_id_numbers_are_valid_and_stable():
    for name, year, sex in (("王芳", 1960, "女"), ("刘强", 1999, "男"), ("赵敏", 1985, "")):
        number = demo.make_id_number(name, year, sex)
        assert portal.validate_id_number(number) == number
        assert number == demo.make_id_number(name, year, sex)
        assert number[6:10] == str(year)
        if sex:
            assert int(number[16]) % 2 == (1 if sex == "男" else 0)


def test_demo_adds_ids_to_records_from_1985(lw):
    Item.objects.filter(pk=lw.insurance.pk).update(
        extra={"姓名": "王芳", "出生年份": 1960, "性别": "女"}
    )
    changed = demo.add_id_numbers()
    assert changed >= 1
    extra = Item.objects.get(pk=lw.insurance.pk).extra
    assert portal.validate_id_number(extra["身份证号"])
    assert "身份证号" not in Item.objects.get(pk=lw.old.pk).extra  # 1983: no ID cards yet
    status, _msg, _counts = demo.seed_livelihood()
    assert status in ("done", "already")


def test_citizen_finds_own_records_only(lw):
    result = services.lookup_own(lw.zhang, "张三", ZHANG_ID)
    assert {m.item.pk for m in result.matches} == {lw.marriage.pk, lw.insurance.pk}
    titles = {m.item.pk: m.title for m in result.matches}
    assert titles[lw.marriage.pk] == "張三、李*结婚登记"  # the other party masked
    # Classified (秘密), another 张三, a 文书 item: never. No ID: only a possible match.
    ids = set(result.item_ids)
    assert not ids & {lw.secret.pk, lw.other_zhang.pk, lw.ws_note.pk, lw.old.pk}
    assert result.possible == [("社会保险档案", 1)]
    entry = AuditEntry.objects.filter(object_type="livelihood.lookup").first()
    assert entry.detail["event"] == "lookup_own" and entry.actor_id == lw.zhang.pk
    assert ZHANG_ID not in str(entry.detail)
    # 李四 sees the marriage with 张三 masked.
    theirs = services.lookup_own(lw.li, "李四", LI_ID)
    assert [m.title for m in theirs.matches] == ["張*、李四结婚登记"]


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("张三", LI_ID),  # someone else's ID
        ("李四", LI_ID),  # someone else entirely
        ("张三", OTHER_ZHANG_ID),  # same name, other ID
        ("张四", ZHANG_ID),  # own ID, wrong name
    ],
)
def test_nobody_looks_up_someone_else(lw, name, number):
    with pytest.raises(ValidationError) as exc:
        services.lookup_own(lw.zhang, name, number)
    assert "只能查询本人的档案" in str(exc.value)
    assert AuditEntry.objects.filter(
        object_type="livelihood.lookup", detail__event="lookup_refused"
    ).exists()


def test_lookup_bad_input_and_no_profile(lw):
    with pytest.raises(ValidationError) as exc:
        services.lookup_own(lw.zhang, "", "123")
    assert set(exc.value.message_dict) == {"name", "id_number"}
    bad_check = ZHANG_ID[:17] + ("0" if ZHANG_ID[17] != "0" else "1")
    with pytest.raises(ValidationError):
        services.lookup_own(lw.zhang, "张三", bad_check)
    with pytest.raises(PermissionDenied):
        services.lookup_own(lw.archivist, "张三", ZHANG_ID)  # staff: no real-name profile


def test_staff_person_search(lw):
    rows = services.search_persons(lw.archivist, name="張三")
    assert {r.item_id for r in rows} == {
        lw.marriage.pk,
        lw.insurance.pk,
        lw.secret.pk,
        lw.old.pk,
        lw.other_zhang.pk,
    }
    rows = services.search_persons(lw.archivist, id_number=ZHANG_ID)
    assert {r.item_id for r in rows} == {lw.marriage.pk, lw.insurance.pk, lw.secret.pk}
    rows = services.search_persons(lw.archivist, name="张三", birth_year=1975)
    assert [r.item_id for r in rows] == [lw.other_zhang.pk]
    entry = AuditEntry.objects.filter(object_type="livelihood.person_search").first()
    assert entry.detail["id_masked"] == "" and entry.detail["found"] == 1
    with pytest.raises(ValidationError):
        services.search_persons(lw.archivist)
    for user in (lw.zhang, lw.world.users["keeper"], lw.world.users["unit_officer"]):
        with pytest.raises(PermissionDenied):
            services.search_persons(user, name="张三")


def test_normalise_name():
    assert persons.normalise_name(" 劉　德華 ") == "刘德华"
    assert persons.normalise_name("阿依·古丽") == "阿依古丽"
