"""Personal information at rest: a real table with encrypted columns, read back through the ORM and
dumped raw with SQL; keyed hashes; masks; key rotation through the management command."""

import io
import re
import string

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection, models
from hypothesis import given
from hypothesis import strategies as st

from minqing.core import pii
from minqing.core.pii import (
    EncryptedTextField,
    PiiDecryptionError,
    decrypt,
    encrypt,
    encrypted_fields,
    is_current,
    mask_document_number,
    mask_id_number,
    mask_middle,
    mask_phone,
    pii_hash,
    rotate_model,
    rotate_token,
)

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"
TABLE = "core_test_pii_person"


@pytest.fixture
def person_model(db):
    """A model with two encrypted columns, registered only for this test, and its table created in the
    test's transaction (so it disappears with the rollback on SQLite and PostgreSQL alike)."""

    class PiiPerson(models.Model):
        name = models.CharField(max_length=50)
        id_number = EncryptedTextField(null=True, blank=True)
        phone = EncryptedTextField(blank=True, default="")
        id_number_hash = models.CharField(max_length=64, null=True, blank=True, db_index=True)

        class Meta:
            app_label = "core"
            db_table = TABLE

    try:
        sql, params = connection.schema_editor().table_sql(PiiPerson)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        yield PiiPerson
    finally:
        del apps.all_models["core"]["piiperson"]
        apps.clear_cache()


def raw_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, name, id_number, phone, id_number_hash FROM {TABLE} ORDER BY id")
        return cursor.fetchall()


def new_key() -> str:
    return Fernet.generate_key().decode()


def add(model, name: str, id_number: str | None = ID_NUMBER, phone: str = PHONE):
    return model.objects.create(
        name=name, id_number=id_number, phone=phone, id_number_hash=pii_hash(id_number, "id_number")
    )


# Encryption at rest ----------------------------------------------------------------------------


def test_values_round_trip_and_a_raw_dump_holds_no_clear_value(person_model):
    add(person_model, "张杰")
    add(person_model, "李娜", id_number=None, phone="")
    people = list(person_model.objects.order_by("id").values_list("name", "id_number", "phone"))
    assert people == [("张杰", ID_NUMBER, PHONE), ("李娜", None, "")]

    rows = raw_rows()
    dump = repr(rows)
    for clear in (ID_NUMBER, ID_NUMBER.lower(), PHONE, "19491231", "12345678"):
        assert clear not in dump
    assert rows[0][2].startswith("gAAAAA") and rows[0][3].startswith("gAAAAA")  # Fernet tokens
    assert (rows[1][2], rows[1][3]) == (None, "")  # no value: nothing to hide


def test_the_same_value_encrypts_differently_every_time(person_model):
    add(person_model, "一")
    add(person_model, "二")
    first, second = raw_rows()
    assert first[2] != second[2]
    assert first[4] == second[4] == pii_hash(ID_NUMBER, "id_number")


def test_a_value_no_key_can_decrypt_is_an_error_naming_the_field(person_model, settings):
    add(person_model, "张杰")
    settings.PII_KEYS = [new_key()]
    with pytest.raises(PiiDecryptionError) as caught:
        person_model.objects.get()
    assert "core.PiiPerson.id_number" in str(caught.value)
    assert "MINQING_PII_KEYS" in str(caught.value)
    assert "gAAAAA" not in str(caught.value)
    # Reading only the other columns still works.
    assert list(person_model.objects.values_list("name", flat=True)) == ["张杰"]


def test_the_encrypted_column_cannot_be_searched_only_the_hash_can(person_model):
    person = add(person_model, "张杰")
    add(person_model, "李娜", id_number=None, phone="")
    for lookup in ({"id_number": ID_NUMBER}, {"phone__icontains": "1381"}, {"id_number__in": [ID_NUMBER]}):
        with pytest.raises(FieldError, match="pii_hash"):
            person_model.objects.filter(**lookup)
    found = person_model.objects.get(id_number_hash=pii_hash("１１０１０５ １９４９１２３１ ００２ｘ", "id_number"))
    assert found.pk == person.pk
    assert list(person_model.objects.filter(id_number__isnull=True).values_list("name", flat=True)) == ["李娜"]
    assert list(person_model.objects.filter(phone="").values_list("name", flat=True)) == ["李娜"]


def test_several_keys_the_first_encrypts_all_decrypt(settings):
    old, new = new_key(), new_key()
    settings.PII_KEYS = [old]
    token = encrypt(ID_NUMBER)
    settings.PII_KEYS = [new, old]
    assert decrypt(token) == ID_NUMBER and not is_current(token)
    assert Fernet(new.encode()).decrypt(encrypt(PHONE).encode()).decode() == PHONE
    rotated = rotate_token(token)
    assert is_current(rotated)
    settings.PII_KEYS = [new]
    assert decrypt(rotated) == ID_NUMBER
    with pytest.raises(InvalidToken):
        decrypt(token)


@given(st.text(min_size=1, max_size=60))
def test_any_text_round_trips(value):
    assert decrypt(encrypt(value)) == value


def test_encrypt_many_makes_the_fernet_tokens_of_the_first_key(settings, monkeypatch):
    old, new = new_key(), new_key()
    settings.PII_KEYS = [new, old]
    values = [ID_NUMBER, PHONE, "", None, "中文姓名·买买提", "x" * 47, "y" * 48, ID_NUMBER]
    tokens = pii.encrypt_many(values)
    assert tokens[2] == "" and tokens[3] is None
    assert [Fernet(new.encode()).decrypt(t.encode()).decode() for t in tokens if t] == [v for v in values if v]
    assert all(is_current(t) for t in tokens if t) and tokens[0] != tokens[-1]  # an IV of its own each
    # Byte for byte what Fernet makes from the same IVs and time.
    ivs = bytes(range(256))[: 16 * 6]
    monkeypatch.setattr(pii.os, "urandom", lambda n: ivs[:n])
    monkeypatch.setattr(pii.time, "time", lambda: 1_700_000_000)
    fernet = Fernet(new.encode())
    expected = [
        fernet._encrypt_from_parts(v.encode(), 1_700_000_000, ivs[16 * k : 16 * k + 16]).decode()
        for k, v in enumerate(v for v in values if v)
    ]
    assert [t for t in pii.encrypt_many(values) if t] == expected


# Keyed hashes ------------------------------------------------------------------------------------


def test_one_value_in_different_spellings_has_one_hash():
    expected = pii_hash(ID_NUMBER, "id_number")
    for spelling in (
        "11010519491231002x",
        " 110105 19491231 002X ",
        "１１０１０５１９４９１２３１００２Ｘ",
        "110105\u30001949\t1231002x",
    ):
        assert pii_hash(spelling, "id_number") == expected
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert pii_hash("11010519491231002", "id_number") != expected


def test_the_hash_depends_on_the_key_and_the_kind(settings):
    before = pii_hash(PHONE, "phone")
    assert pii_hash(PHONE, "id_number") != before
    settings.PII_HASH_KEY = "another-hash-key"
    assert pii_hash(PHONE, "phone") != before


def test_no_value_has_no_hash():
    assert pii_hash(None, "phone") is None
    assert pii_hash("", "phone") is None
    assert pii_hash(" \u3000", "phone") is None
    with pytest.raises(ValueError):
        pii_hash(PHONE, "")


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=20),
    st.lists(st.sampled_from(["full", "lower", "upper", "space"]), min_size=1, max_size=4),
)
def test_spelling_variants_share_a_hash(value, changes):
    variant = value
    for change in changes:
        variant = {
            "full": full_width,
            "lower": str.lower,
            "upper": str.upper,
            "space": lambda v: " ".join(v) + "\u3000",
        }[change](variant)
    assert pii_hash(variant, "id_number") == pii_hash(value, "id_number")


# Masks ---------------------------------------------------------------------------------------------


def test_masks():
    assert mask_id_number("150602199001011234") == "1506**********1234"
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0477-8581234") == "0477-****234"
    assert mask_phone("010-12345678") == "010-****5678"
    assert mask_document_number("E12345678") == "E1*****78"
    assert mask_document_number("EA1234567") == "EA*****67"
    for mask in (mask_id_number, mask_phone, mask_document_number):
        assert mask("") == "" and mask(None) == ""
        assert mask("7") == "*"


@pytest.mark.parametrize(
    ("value", "masked"),
    [("12", "*2"), ("123", "**3"), ("1234", "1**4"), ("8581234", "8****34")],
)
def test_short_values_keep_less(value, masked):
    assert mask_document_number(value) == masked


@given(st.text(st.characters(exclude_characters="*"), min_size=1, max_size=40), st.integers(0, 6), st.integers(0, 6))
def test_a_mask_keeps_the_length_and_hides_at_least_half(value, keep_start, keep_end):
    masked = mask_middle(value, keep_start=keep_start, keep_end=keep_end)
    assert len(masked) == len(value)
    assert masked.count("*") >= max(1, (len(value) + 1) // 2)
    # What shows is the value's own beginning and end, nothing else.
    assert all(masked[i] == value[i] for i, c in enumerate(masked) if c != "*")
    assert "*" * masked.count("*") in masked  # one run of stars, in the middle


# Key rotation ---------------------------------------------------------------------------------------


def test_discovery_finds_every_encrypted_column(person_model):
    found = dict(encrypted_fields())
    assert [f.name for f in found[person_model]] == ["id_number", "phone"]
    for model, fields in found.items():
        assert not model._meta.proxy
        assert all(isinstance(f, EncryptedTextField) for f in fields)


def run_rotation(*args) -> str:
    out = io.StringIO()
    try:
        call_command("pii_rotate_keys", *args, stdout=out)
    except CommandError as error:
        raise CommandError(f"{error}\n{out.getvalue()}") from None
    return out.getvalue()


def test_the_command_re_encrypts_everything_with_the_first_key(person_model, settings):
    original_keys = list(settings.PII_KEYS)
    old = new_key()
    settings.PII_KEYS = [old, *original_keys]
    for n in range(7):
        add(person_model, f"居民{n}")
    add(person_model, "无证件", id_number=None, phone="")
    before = raw_rows()

    new = new_key()
    settings.PII_KEYS = [new, old, *original_keys]
    with pytest.raises(CommandError, match="values are not yet under the first key") as caught:
        run_rotation("--check")
    assert "core.PiiPerson.id_number: to rotate 7, already current 0, empty 1, undecryptable 0" in str(caught.value)
    assert raw_rows() == before  # --check writes nothing

    report = run_rotation("--batch-size", "3")
    assert "core.PiiPerson.id_number: rotated 7, already current 0, empty 1, undecryptable 0" in report
    assert "core.PiiPerson.phone: rotated 7, already current 0, empty 1, undecryptable 0" in report
    after = raw_rows()
    assert [row[2] for row in after if row[2]] and all(a[2] != b[2] for a, b in zip(after[:7], before[:7], strict=True))
    assert [(r[0], r[1], r[4]) for r in after] == [(r[0], r[1], r[4]) for r in before]
    assert ID_NUMBER not in repr(after) and PHONE not in repr(after)

    # The old key can go now: every value reads with the new key alone.
    settings.PII_KEYS = [new, *original_keys]
    people = list(person_model.objects.order_by("id").values_list("id_number", "phone"))
    assert people == [(ID_NUMBER, PHONE)] * 7 + [(None, "")]
    for row in after[:7]:
        assert Fernet(new.encode()).decrypt(row[2].encode()).decode() == ID_NUMBER

    # Idempotent: a second run finds everything current and changes nothing.
    again = run_rotation()
    assert "core.PiiPerson.id_number: rotated 0, already current 7, empty 1, undecryptable 0" in again
    assert raw_rows() == after
    run_rotation("--check")


def test_a_value_no_key_decrypts_is_reported_and_kept(person_model, settings):
    original_keys = list(settings.PII_KEYS)
    lost = new_key()
    settings.PII_KEYS = [lost]
    stranded = add(person_model, "旧钥匙")
    settings.PII_KEYS = original_keys
    add(person_model, "新钥匙")
    before = raw_rows()

    out = io.StringIO()
    with pytest.raises(CommandError, match="do not remove any key"):
        call_command("pii_rotate_keys", stdout=out)
    assert f"core.PiiPerson.id_number: rotated 0, already current 1, empty 0, undecryptable 1 (pk {stranded.pk})" in (
        out.getvalue()
    )
    assert raw_rows() == before


def test_rotation_skips_a_row_changed_while_it_ran(person_model, settings, monkeypatch):
    """Compare-and-set: a row rewritten between the read and the write keeps the newer value."""
    original_keys = list(settings.PII_KEYS)
    old = new_key()
    settings.PII_KEYS = [old, *original_keys]
    person = add(person_model, "张杰")
    settings.PII_KEYS = [new_key(), old, *original_keys]

    real_rotate = pii.rotate_token

    def rotate_while_someone_writes(token):
        person_model.objects.filter(pk=person.pk).update(phone="13912345678")
        return real_rotate(token)

    monkeypatch.setattr(pii, "rotate_token", rotate_while_someone_writes)
    rotate_model(person_model, [person_model._meta.get_field("phone")])
    assert person_model.objects.get().phone == "13912345678"
