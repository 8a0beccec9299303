"""实名注册 and the protected ID number: validation, masking, hashing, reveal."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from portal_ids import id_check, make_id, make_id_with_x

from lantai.accounts.roles import Role
from lantai.audit.models import AuditEntry
from lantai.portal import services
from lantai.portal.models import CitizenProfile


def test_valid_numbers_pass_and_are_normalised():
    number = make_id()
    assert services.validate_id_number(number) == number
    with_x = make_id_with_x()
    assert services.validate_id_number(with_x.lower()) == with_x
    assert services.validate_id_number(f" {number[:6]} {number[6:14]} {number[14:]} ") == number


def test_every_wrong_check_digit_is_refused():
    body = "11010519840716231"
    right = id_check(body)
    for ch in "0123456789X":
        if ch == right:
            assert services.validate_id_number(body + ch)
            continue
        with pytest.raises(ValidationError) as exc:
            services.validate_id_number(body + ch)
        assert "校验位" in exc.value.messages[0]


@pytest.mark.parametrize(
    ("raw", "word"),
    [
        ("", "请填写"),
        ("11010519840716231", "18 位"),
        ("1101051984071623AX", "18 位"),
        (make_id(region="990105", seq="123"), "地址码"),
        (make_id(region="110000", seq="123"), "地址码"),
        (make_id(birth="19840231", seq="123"), "出生日期"),
        (make_id(birth="18500101", seq="123"), "出生日期"),
        (make_id(birth="29990101", seq="123"), "出生日期"),
    ],
)
def test_bad_numbers_get_a_chinese_reason(raw, word):
    with pytest.raises(ValidationError) as exc:
        services.validate_id_number(raw)
    assert word in exc.value.messages[0]


def test_mask_keeps_region_and_last_four():
    number = make_id_with_x()
    masked = services.mask_id_number(number)
    assert masked == number[:6] + "*" * 8 + number[-4:]
    assert len(masked) == 18 and masked.endswith("X")


def test_hash_matches_normalised_forms_and_is_keyed(settings):
    number = make_id_with_x()
    digest = services.id_number_hash(number)
    assert digest == services.id_number_hash(number.lower())
    assert digest == services.id_number_hash(number[:9] + " " + number[9:])
    assert digest != services.id_number_hash(make_id(seq="001"))
    import hashlib

    assert digest != hashlib.sha256(number.encode()).hexdigest()  # keyed, not a bare hash
    settings.SECRET_KEY = "another key for this test only"
    assert services.id_number_hash(number) != digest


def test_mobile_numbers():
    assert services.validate_mobile("+86 138-1234-5678") == "13812345678"
    for bad in ("12812345678", "1381234567", "0755-12345678", "abc"):
        with pytest.raises(ValidationError):
            services.validate_mobile(bad)


@pytest.mark.django_db
def test_register_creates_public_user_and_protected_profile(citizen_data):
    user = services.register_citizen(citizen_data)
    assert user.username == citizen_data["phone"]
    assert user.role_codes == {Role.PUBLIC}
    assert user.check_password(citizen_data["password"])
    profile = services.citizen_profile(user)
    number = citizen_data["id_number"]
    assert profile.real_name == "陈公民"
    assert profile.id_masked == services.mask_id_number(number)
    assert profile.id_hash == services.id_number_hash(number)
    # The clear number is nowhere in the row.
    row = CitizenProfile.objects.filter(pk=profile.pk).values().get()
    assert not any(number in str(value) for value in row.values())
    assert services.find_citizen(number.lower()).user_id == user.pk
    assert AuditEntry.objects.filter(object_type="portal.citizenprofile").exists()


@pytest.mark.django_db
def test_register_reports_every_problem_and_saves_nothing(citizen_data):
    bad = dict(
        citizen_data,
        id_number=citizen_data["id_number"][:17] + "?",
        phone="123",
        real_name="",
        password="123",
    )
    with pytest.raises(ValidationError) as exc:
        services.register_citizen(bad)
    assert set(exc.value.message_dict) >= {"id_number", "phone", "real_name", "password"}
    assert not CitizenProfile.objects.exists()
    from lantai.accounts.models import User

    assert not User.objects.exists()


@pytest.mark.django_db
def test_one_account_per_id_number_and_per_phone(citizen, citizen_data):
    again = dict(citizen_data, phone="13900000000")
    with pytest.raises(ValidationError) as exc:
        services.register_citizen(again)
    assert "已注册" in exc.value.message_dict["id_number"][0]
    other = dict(citizen_data, id_number=make_id(seq="777"))
    with pytest.raises(ValidationError) as exc:
        services.register_citizen(other)
    assert "已注册" in exc.value.message_dict["phone"][0]
    assert CitizenProfile.objects.count() == 1


@pytest.mark.django_db
def test_reveal_needs_permission_and_is_audited(citizen, citizen_data, archivist, make_user):
    profile = services.citizen_profile(citizen)
    with pytest.raises(PermissionDenied):
        services.reveal_id_number(citizen, profile)
    keeper = make_user("keeper1", "keeper")
    with pytest.raises(PermissionDenied):
        services.reveal_id_number(keeper, profile)
    before = AuditEntry.objects.count()
    assert (
        services.reveal_id_number(archivist, profile, "核对利用申请") == citizen_data["id_number"]
    )
    entry = AuditEntry.objects.order_by("-seq").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.actor_id == archivist.pk and entry.detail["event"] == "reveal_id_number"
    assert citizen_data["id_number"] not in str(entry.detail)


@pytest.mark.django_db
def test_citizen_profile_of_staff_and_anonymous(archivist):
    from django.contrib.auth.models import AnonymousUser

    assert services.citizen_profile(archivist) is None
    assert services.citizen_profile(AnonymousUser()) is None
    assert services.citizen_profile(None) is None
