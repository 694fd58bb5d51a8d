import pytest
from hypothesis import given
from hypothesis import strategies as st

from minqing.core.errors import ApplicationError
from minqing.core.pii import mask_phone, pii_hash
from minqing.registry.phones import PhoneError, normalise_phone, phone_kind


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("'13812345678", "13812345678"),
        ("13812345678.0", "13812345678"),  # a number cell read as a float
        (13812345678.0, "13812345678"),
        (13812345678, "13812345678"),
        ("1.3812345678E+10", "13812345678"),
        ("0477-8581234", "0477-8581234"),
        ("04778581234", "0477-8581234"),
        ("0477 858 1234", "0477-8581234"),
        ("(0477)8581234", "0477-8581234"),
        ("（０４７７）８５８１２３４", "0477-8581234"),
        ("+86 477 8581234", "0477-8581234"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("0086 10 12345678", "010-12345678"),
        ("0755-86013388", "0755-86013388"),
    ],
)
def test_mobiles_and_landlines_in_every_spelling(raw, expected):
    assert normalise_phone(raw) == expected


def test_a_local_number_takes_the_default_area_code():
    assert normalise_phone("8581234", default_area_code="0477") == "0477-8581234"
    assert normalise_phone("858-1234", default_area_code="477") == "0477-8581234"
    # A number that already has its area code keeps it.
    assert normalise_phone("010-12345678", default_area_code="0477") == "010-12345678"
    assert normalise_phone("13812345678", default_area_code="0477") == "13812345678"


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        ("", "phone_required", "请填写联系电话"),
        (None, "phone_required", "请填写联系电话"),
        ("8581234", "phone_area_code", "缺少区号"),
        ("1381234567", "phone_length", "应为 11 位"),
        ("138123456789", "phone_length", "应为 11 位"),
        ("12345678901", "phone_invalid", "不是有效的手机号码"),
        ("14012345678", "phone_invalid", "不是有效的手机号码"),
        ("028-8888888", "phone_invalid", "固定电话为区号加号码"),  # Chengdu numbers have 8 digits
        ("400-123-4567", "phone_invalid", "不是有效的电话号码"),
        ("0477-858123", "phone_invalid", "不是有效的电话号码"),
        ("138abc45678", "phone_format", "含有数字以外的字符"),
        ("13812345678转801", "phone_format", "含有数字以外的字符"),
        ("13812345678/13912345678", "phone_several", "只能填一个号码"),
        ("13812345678、0477-8581234", "phone_several", "只能填一个号码"),
        ("12345", "phone_length", "应为 11 位"),
        ("23456", "phone_invalid", "不是有效的电话号码"),
    ],
)
def test_what_is_not_a_phone_is_refused_with_its_reason(raw, code, says):
    with pytest.raises(PhoneError) as caught:
        normalise_phone(raw)
    assert caught.value.code == code, caught.value.message
    assert says in caught.value.message
    assert caught.value.field == "phone"
    assert isinstance(caught.value, ApplicationError)


def test_kind_and_mask_of_a_normalised_number():
    assert phone_kind(normalise_phone("138 1234 5678")) == "mobile"
    assert phone_kind(normalise_phone("0477 8581234")) == "landline"
    assert mask_phone(normalise_phone("+86 138-1234-5678")) == "138****5678"
    assert mask_phone(normalise_phone("(0477) 858 1234")) == "0477-****234"


MOBILE_PREFIXES = [str(p) for p in (*range(130, 140), 150, 151, 152, 155, 156, 157, 158, 159, *range(180, 190), 199)]


@st.composite
def mobiles(draw) -> str:
    return draw(st.sampled_from(MOBILE_PREFIXES)) + draw(st.from_regex(r"[0-9]{8}", fullmatch=True))


@given(mobiles(), st.sampled_from(["{a}{b}{c}", "{a}-{b}-{c}", "{a} {b} {c}", "+86 {a}{b}{c}", "0086{a}{b}{c}"]))
def test_every_spelling_of_a_mobile_gives_one_number_and_one_hash(number, layout):
    raw = layout.format(a=number[:3], b=number[3:7], c=number[7:])
    assert normalise_phone(raw) == number
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in raw)
    assert normalise_phone(wide) == number
    assert pii_hash(normalise_phone(raw), "phone") == pii_hash(number, "phone")
