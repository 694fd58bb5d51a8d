"""Citizen ID numbers and other documents. Check characters are computed here from the definition of
ISO 7064 MOD 11-2 (the full 18-character number, weighted by 2^(i-1) counted from the right with the
check character at i = 1, must be ≡ 1 mod 11), not with the code under test."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minqing.core.errors import ApplicationError
from minqing.registry.idnumbers import (
    CitizenId,
    DocumentKind,
    IdNumberError,
    Sex,
    mask_document,
    parse_document,
    parse_id_number,
    region_name,
)

TODAY = datetime.date(2025, 6, 30)
PROVINCES = "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65".split()


def mod11_2(first17: str) -> str:
    """The one character c for which the whole number satisfies the MOD 11-2 congruence."""
    for value in range(11):
        digits = [int(d) for d in first17] + [value]
        total = sum(d * 2 ** (18 - position) for position, d in enumerate(digits, start=1))
        if total % 11 == 1:
            return "X" if value == 10 else str(value)
    raise AssertionError("MOD 11-2 always has a solution")


def id_number(region: str, birth: str, sequence: str) -> str:
    first17 = region + birth + sequence
    assert len(first17) == 17
    return first17 + mod11_2(first17)


def excel_rounded(number: str) -> tuple[str, str, float]:
    """What Excel shows and stores for an 18-digit number typed into a General cell: 15 significant
    digits, as scientific notation in the cell and as a float in the file."""
    as_float = float(Decimal(number))
    shown = f"{Decimal(number):.14E}"
    stored = str(int(Decimal(shown)))
    return shown, stored, as_float


def refused(raw, *, code: str, contains: str = "", **kwargs) -> IdNumberError:
    with pytest.raises(IdNumberError) as caught:
        parse_id_number(raw, today=TODAY, **kwargs)
    assert caught.value.code == code, caught.value.message
    assert contains in caught.value.message
    return caught.value


# Known numbers ---------------------------------------------------------------------------------


def test_the_example_of_the_standard_with_its_x():
    assert mod11_2("11010519491231002") == "X"
    parsed = parse_id_number("11010519491231002X", today=TODAY)
    assert parsed == CitizenId(
        number="11010519491231002X", birth_date=datetime.date(1949, 12, 31), sex=Sex.FEMALE, region_code="110105"
    )


def test_birth_date_sex_and_region_come_from_the_number():
    number = id_number("150602", "19900101", "123")
    parsed = parse_id_number(number, today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == datetime.date(1990, 1, 1)
    assert parsed.sex == Sex.MALE  # 3 is odd
    assert parsed.region_code == "150602"
    assert parse_id_number(id_number("150602", "19900101", "124"), today=TODAY).sex == Sex.FEMALE
    assert region_name("150602") == "内蒙古自治区东胜区"


@pytest.mark.parametrize(
    "spelling",
    [
        "11010519491231002x",
        " 110105 19491231 002X ",
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５１９４９１２３１００２ｘ",
        "11010519491231002×",
        "'11010519491231002X",
        "110105-19491231-002X",
        "110105\u300019491231\u3000002X",
    ],
)
def test_spaces_full_width_and_lowercase_x_are_accepted(spelling):
    assert parse_id_number(spelling, today=TODAY).number == "11010519491231002X"


def test_a_first_generation_number_becomes_eighteen_digits():
    old = "150602" + "900101" + "123"
    parsed = parse_id_number(old, today=TODAY)
    assert parsed.number == id_number("150602", "19900101", "123")
    assert parsed.converted_from == old
    assert parsed.birth_date == datetime.date(1990, 1, 1)
    assert parsed.sex == Sex.MALE
    # As Excel keeps it (a number cell; 15 digits survive), and as its text.
    assert parse_id_number(150602900101123.0, today=TODAY).number == parsed.number
    assert parse_id_number("150602900101123.0", today=TODAY).number == parsed.number
    assert parse_id_number(150602900101123, today=TODAY).number == parsed.number


def test_a_first_generation_number_is_checked_too():
    refused("150602900230123", code="id_birth_date", contains="19900230")
    refused("990602900101123", code="id_region")
    refused("15060290010112X", code="id_format")


# Refusals, each with its reason ---------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_an_empty_value_is_refused(raw):
    refused(raw, code="id_required", contains="请填写公民身份号码")


@pytest.mark.parametrize(
    ("raw", "length"),
    [("1101051949123100", 16), ("11010519491231002", 17), ("11010519491231002X1", 19), ("1234", 4)],
)
def test_a_wrong_length_says_how_long_it_is(raw, length):
    refused(raw, code="id_length", contains=f"现为 {length} 位")


@pytest.mark.parametrize(
    "raw", ["1101051949123100XX", "11010519491231O02X", "X10105194912310021", "11010519491231002Y"]
)
def test_letters_other_than_a_final_x_are_refused(raw):
    refused(raw, code="id_format", contains="最后一位可以是 X")


def test_the_region_code_must_begin_with_a_province():
    refused(id_number("000000", "19900101", "123"), code="id_region", contains="「00」不是有效的省级行政区划代码")
    refused(id_number("190602", "19900101", "123"), code="id_region", contains="「19」")
    # The other documents with the same layout are named, so the user picks the right type.
    refused(id_number("810000", "19900101", "123"), code="id_region", contains="港澳台居民居住证")
    refused(id_number("911156", "19900101", "123"), code="id_region", contains="外国人永久居留身份证")


@pytest.mark.parametrize("birth", ["19900230", "19901301", "19900001", "20230229", "19900100"])
def test_an_impossible_birth_date_is_refused(birth):
    refused(id_number("150602", birth, "123"), code="id_birth_date", contains=f"「{birth}」不是真实的日期")


def test_a_birth_date_in_the_future_is_refused():
    tomorrow = (TODAY + datetime.timedelta(days=1)).strftime("%Y%m%d")
    refused(id_number("150602", tomorrow, "123"), code="id_birth_date", contains="晚于今天")
    assert parse_id_number(id_number("150602", TODAY.strftime("%Y%m%d"), "123"), today=TODAY)


def test_a_birth_date_before_1900_is_refused():
    refused(id_number("440524", "18800101", "001"), code="id_birth_date", contains="早于 1900 年")


def test_a_wrong_check_character_is_refused():
    number = id_number("150602", "19900101", "123")
    wrong = next(c for c in "0123456789X" if c != number[-1])
    error = refused(number[:-1] + wrong, code="id_check_digit", contains="校验位（第 18 位）不符")
    assert error.field == "id_number"
    assert isinstance(error, ApplicationError)


def test_a_number_excel_turned_into_a_float_is_named_as_such():
    number = id_number("150602", "19900101", "234")
    shown, stored, as_float = excel_rounded(number)
    assert (shown, stored) == ("1.50602199001012E+17", "150602199001012000")
    assert mod11_2(stored[:17]) != stored[17]
    for raw in (shown, shown.lower(), stored, stored + ".0", as_float, "１.５０６０２１９９００１０１２Ｅ＋１７"):
        refused(raw, code="id_excel_rounded", contains="疑似被 Excel 转为数字而丢失末位")


def test_a_rounded_text_whose_check_character_happens_to_fit_cannot_be_told_apart():
    # One rounded number in eleven is itself a valid number: as text it is accepted (it may be
    # real); as the float or the scientific notation the spreadsheet gives, it is refused.
    number = id_number("150602", "19900101", "123")
    shown, stored, as_float = excel_rounded(number)
    assert stored == "150602199001011000" and mod11_2(stored[:17]) == "0"
    assert parse_id_number(stored, today=TODAY).number == stored
    for raw in (shown, as_float, stored + ".0"):
        refused(raw, code="id_excel_rounded")


def test_one_error_type_for_every_refusal_with_the_field():
    with pytest.raises(ApplicationError) as caught:
        parse_id_number("123", today=TODAY)
    assert caught.value.field == "id_number"


# Properties -----------------------------------------------------------------------------------

birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)


@st.composite
def valid_numbers(draw) -> tuple[str, datetime.date, str]:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    birth = draw(birth_dates)
    sequence = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    return id_number(region, birth.strftime("%Y%m%d"), sequence), birth, region


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


@given(valid_numbers(), st.sampled_from(["plain", "lower", "full_width", "spaced"]))
def test_every_valid_number_round_trips(case, spelling):
    number, birth, region = case
    raw = {
        "plain": number,
        "lower": number.lower(),
        "full_width": full_width(number),
        "spaced": f"{number[:6]} {number[6:14]} {number[14:]}",
    }[spelling]
    parsed = parse_id_number(raw, today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == birth
    assert parsed.region_code == region
    assert parsed.sex == (Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE)


@given(valid_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_character_change_is_refused(case, position, replacement):
    number = case[0]
    assume(number[position] != replacement)
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(IdNumberError):
        parse_id_number(changed, today=TODAY)


@given(valid_numbers(), st.integers(min_value=0, max_value=16))
def test_any_swap_of_two_neighbouring_characters_is_refused(case, position):
    number = case[0]
    assume(number[position] != number[position + 1])
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    with pytest.raises(IdNumberError):
        parse_id_number(swapped, today=TODAY)


@given(valid_numbers())
def test_excel_damage_is_always_recognised_in_a_float_or_scientific_notation(case):
    number = case[0]
    assume(not number.endswith("X"))
    shown, stored, as_float = excel_rounded(number)
    for raw in (shown, as_float, stored + ".0"):
        with pytest.raises(IdNumberError) as caught:
            parse_id_number(raw, today=TODAY)
        assert caught.value.code == "id_excel_rounded"


@given(
    st.sampled_from(PROVINCES),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
    st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(1999, 12, 31)),
    st.from_regex(r"[0-9]{3}", fullmatch=True),
)
def test_every_first_generation_number_converts(province, county, birth, sequence):
    old = province + county + birth.strftime("%y%m%d") + sequence
    parsed = parse_id_number(old, today=TODAY)
    assert parsed.number == id_number(province + county, birth.strftime("%Y%m%d"), sequence)
    assert parsed.birth_date == birth
    assert parsed.converted_from == old


# Other documents ------------------------------------------------------------------------------


def document_refused(kind, raw, code):
    with pytest.raises(IdNumberError) as caught:
        parse_document(kind, raw, today=TODAY)
    assert caught.value.code == code, caught.value.message
    assert caught.value.field == "id_number"
    return caught.value


def test_parse_document_for_a_citizen_id_is_parse_id_number():
    parsed = parse_document(DocumentKind.CITIZEN_ID, "11010519491231002x", today=TODAY)
    assert parsed.kind == DocumentKind.CITIZEN_ID and parsed.number == "11010519491231002X"
    document_refused("citizen_id", "11010519491231002", "id_length")


@pytest.mark.parametrize(
    ("raw", "number"),
    [("E12345678", "E12345678"), ("ea1234567", "EA1234567"), (" G 1234 5678 ", "G12345678"), ("Ｘ1234567", "X1234567")],
)
def test_passports(raw, number):
    parsed = parse_document("passport", raw, today=TODAY)
    assert parsed.kind == DocumentKind.PASSPORT and parsed.number == number
    assert parsed.birth_date is None and parsed.sex is None


@pytest.mark.parametrize("raw", ["E123", "ABCDEFGH", "E1234567#", "E" + "1" * 17])
def test_passports_of_the_wrong_shape_are_refused(raw):
    document_refused("passport", raw, "id_format")


def test_passport_required():
    document_refused("passport", "  ", "id_required")


@pytest.mark.parametrize(("prefix", "place"), [("810000", "香港"), ("820000", "澳门"), ("830000", "台湾")])
def test_hong_kong_macao_and_taiwan_residence_permits(prefix, place):
    number = id_number(prefix, "19850315", "042")
    parsed = parse_document("hmt_residence", number.lower(), today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == datetime.date(1985, 3, 15) and parsed.sex == Sex.FEMALE


def test_residence_permits_are_checked():
    document_refused("hmt_residence", id_number("810001", "19850315", "042"), "id_region")
    document_refused("hmt_residence", id_number("150602", "19850315", "042"), "id_region")
    good = id_number("810000", "19850315", "042")
    document_refused("hmt_residence", good[:-1] + ("1" if good[-1] != "1" else "2"), "id_check_digit")
    document_refused("hmt_residence", id_number("810000", "19850230", "042"), "id_birth_date")
    document_refused("hmt_residence", good[:17], "id_length")


def test_foreign_permanent_residence_cards_of_2023():
    # 9, place of issue 11 (Beijing), country 840 (United States), birth date, sequence, check.
    number = id_number("911840", "19800704", "015")
    parsed = parse_document("foreign_permanent", number, today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == datetime.date(1980, 7, 4) and parsed.sex == Sex.MALE
    document_refused("foreign_permanent", id_number("111840", "19800704", "015"), "id_region")
    document_refused("foreign_permanent", number[:-1] + ("1" if number[-1] != "1" else "2"), "id_check_digit")


def test_foreign_permanent_residence_cards_of_the_old_format():
    parsed = parse_document("foreign_permanent", "usa 110800704 015", today=TODAY)
    assert parsed.number == "USA110800704015"
    document_refused("foreign_permanent", "US1110800704015", "id_length")
    document_refused("foreign_permanent", "USA11080070401X", "id_format")
    document_refused("foreign_permanent", "USA1108007040", "id_length")


def test_an_unknown_kind_is_refused():
    document_refused("driving_licence", "123", "id_kind")


def test_masks_by_kind():
    assert mask_document("citizen_id", "11010519491231002X") == "1101**********002X"
    assert mask_document("hmt_residence", "810000198503150428") == "8100**********0428"
    assert mask_document("passport", "E12345678") == "E1*****78"
    assert mask_document("foreign_permanent", "USA110800704015") == "US***********15"
    assert mask_document("passport", "") == ""
    parsed = parse_id_number("11010519491231002X", today=TODAY)
    assert parsed.masked == "1101**********002X"
