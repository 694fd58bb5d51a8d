"""From what was typed (a form, a JSON body, a ledger cell) to the values a resident record holds.

One set of rules for every way in, so a page, the API and an imported row refuse the same input
with the same message naming the same field. Nothing here touches the database: the importer calls
it for a hundred thousand rows."""

import datetime
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from pypinyin import lazy_pinyin
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

from minqing.core.errors import ApplicationError
from minqing.core.pii import pii_hash
from minqing.registry.idnumbers import DocumentKind, Sex, parse_document, parse_id_number
from minqing.registry.models import ETHNICITIES, PoliticalStatus, RegistrationType, Relation
from minqing.registry.phones import normalise_phone

NAME_MAX = 50
# A name keeps the middle dot of transliterated names (阿依古丽·买买提) in one spelling.
_NAME_DOTS = re.compile(r"[.．•・‧∙]")
_SPACES = re.compile(r"\s+")


def clean_name(raw) -> str:
    name = unicodedata.normalize("NFKC", str(raw or "")).strip()
    name = _NAME_DOTS.sub("·", name)
    # Ledgers pad two-character names to three ("张  杰"); spaces between Chinese characters go.
    name = re.sub(r"(?<=[\u3400-\u9fff·])\s+(?=[\u3400-\u9fff·])", "", name)
    name = _SPACES.sub(" ", name)
    if not name:
        raise ApplicationError(gettext("姓名不能为空"), field="name", code="name_required")
    if len(name) > NAME_MAX:
        raise ApplicationError(
            gettext("姓名不能超过 %(n)d 个字符") % {"n": NAME_MAX}, field="name", code="name_too_long"
        )
    return name


def _syllables(text: str) -> list[str]:
    return [re.sub(r"[^a-z]", "", s.lower()) for s in lazy_pinyin(text, errors="ignore") if s.strip()]


@functools.cache
def _char_syllables(char: str) -> tuple[str, ...]:
    return tuple(_syllables(char))


def _reads_char_by_char(name: str) -> bool:
    """Whether pypinyin reads `name` one character at a time: every character is a hanzi of its
    single-character table and no part of it is one of its phrases (其其格, 曾国藩 are read as
    phrases and go through pypinyin whole)."""
    if not all(ord(char) in PINYIN_DICT for char in name):
        return False
    n = len(name)
    return not any(name[i:j] in PHRASES_DICT for i in range(n) for j in range(i + 2, n + 1))


def name_pinyin(name: str) -> tuple[str, str]:
    """("zhangjie", "zj") for 张杰: what search matches typed Latin letters against."""
    # One conversion: the initials are the first letters of the same syllables (what the
    # FIRST_LETTER style gives, at half the cost). pypinyin costs ~0.1 ms a name, which dominates
    # a large import; names repeat their characters, so a name read character by character is
    # put together from a per-character cache (the same result, tested against pypinyin whole).
    if _reads_char_by_char(name):
        letters = [s for char in name for s in _char_syllables(char)]
    else:
        letters = _syllables(name)
    return "".join(letters)[:200], "".join(s[:1] for s in letters)[:50]


# Dates ------------------------------------------------------------------------------------------

_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_DATE_PATTERNS = [
    re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
]


def parse_date(
    raw, *, field: str, label: str, allow_future: bool = False, today: datetime.date | None = None
) -> datetime.date | None:
    """A date as a ledger gives it: a date cell, an Excel serial number, or text in the usual
    spellings (1950-03-02, 1950/3/2, 1950.3.2, 19500302, 1950年3月2日). Empty is None."""
    if raw is None or raw == "":
        return None
    value = None
    if isinstance(raw, datetime.datetime):
        value = raw.date()
    elif isinstance(raw, datetime.date):
        value = raw
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        if 1 <= raw < 100000:
            value = _EXCEL_EPOCH + datetime.timedelta(days=int(raw))
        elif 10000101 <= raw <= 99991231:
            raw = str(int(raw))
    if value is None:
        text = unicodedata.normalize("NFKC", str(raw)).strip()
        if not text:
            return None
        text = text.split(" ")[0].split("T")[0]
        for pattern in _DATE_PATTERNS:
            match = pattern.fullmatch(text)
            if match:
                try:
                    value = datetime.date(*(int(part) for part in match.groups()))
                except ValueError:
                    raise ApplicationError(
                        gettext("%(label)s「%(value)s」不是有效的日期") % {"label": label, "value": text},
                        field=field,
                        code="date_invalid",
                    ) from None
                break
        else:
            raise ApplicationError(
                gettext("%(label)s「%(value)s」无法识别，请写成 1950-03-02 的形式") % {"label": label, "value": text},
                field=field,
                code="date_format",
            )
    if not allow_future and value > (today or timezone.localdate()):
        raise ApplicationError(
            gettext("%(label)s %(value)s 晚于今天") % {"label": label, "value": value.isoformat()},
            field=field,
            code="date_future",
        )
    if value.year < 1900:
        raise ApplicationError(
            gettext("%(label)s %(value)s 早于 1900 年") % {"label": label, "value": value.isoformat()},
            field=field,
            code="date_too_early",
        )
    return value


# Choices by their Chinese names -----------------------------------------------------------------


def _lookup(choices, synonyms: Mapping[str, str] | None = None) -> dict[str, str]:
    table = {}
    for value, label in choices:
        table[str(value)] = value
        table[str(label)] = value
    for word, value in (synonyms or {}).items():
        table[word] = value
    return table


_ETHNICITY = _lookup(ETHNICITIES, {label.removesuffix("族"): code for code, label in ETHNICITIES if len(label) > 2})
_ETHNICITY.update({"蒙古": "02", "维吾尔": "05", "外国血统": "98"})
_REGISTRATION = _lookup(
    RegistrationType.choices,
    {"户籍人口": "household", "常住": "household", "流动人口": "floating", "外来": "floating", "外出人口": "away",
     "空挂户": "nominal", "人户分离": "nominal", "寄住人口": "lodging", "暂住": "floating"},
)  # fmt: skip
_RELATION = _lookup(
    Relation.choices,
    {
        "本人": "head", "户主本人": "head",
        "妻": "spouse", "妻子": "spouse", "夫": "spouse", "丈夫": "spouse", "之妻": "spouse", "之夫": "spouse",
        "儿子": "son", "长子": "son", "次子": "son", "三子": "son", "独生子": "son", "养子": "son", "继子": "son",
        "女儿": "daughter", "长女": "daughter", "次女": "daughter", "三女": "daughter", "独生女": "daughter",
        "养女": "daughter", "继女": "daughter",
        "父亲": "parent", "母亲": "parent", "父": "parent", "母": "parent", "岳父": "parent", "岳母": "parent",
        "公公": "parent", "婆婆": "parent",
        "孙子": "grandchild", "孙女": "grandchild", "外孙": "grandchild", "外孙子": "grandchild",
        "外孙女": "grandchild",
        "祖父": "grandparent", "祖母": "grandparent", "外祖父": "grandparent", "外祖母": "grandparent",
        "爷爷": "grandparent", "奶奶": "grandparent",
        "兄": "sibling", "弟": "sibling", "姐": "sibling", "妹": "sibling", "哥哥": "sibling", "弟弟": "sibling",
        "姐姐": "sibling", "妹妹": "sibling",
        "儿媳": "child_in_law", "女婿": "child_in_law",
    },
)  # fmt: skip
_POLITICAL = _lookup(
    PoliticalStatus.choices,
    {"党员": "cpc_member", "中共党员": "cpc_member", "预备党员": "cpc_probationary", "团员": "cyl_member",
     "共青团员": "cyl_member", "民主党派成员": "democratic_party", "无党派": "nonpartisan", "无": "masses"},
)  # fmt: skip
_SEX = {"男": Sex.MALE, "女": Sex.FEMALE, "M": Sex.MALE, "F": Sex.FEMALE, "男性": Sex.MALE, "女性": Sex.FEMALE}
_DOCUMENT_KIND = _lookup(
    DocumentKind.choices,
    {"身份证": "citizen_id", "居民身份证": "citizen_id", "护照": "passport", "港澳台居住证": "hmt_residence",
     "港澳台居民居住证": "hmt_residence", "永居证": "foreign_permanent", "外国人永久居留证": "foreign_permanent",
     "外国人永久居留身份证": "foreign_permanent"},
)  # fmt: skip
_YES = {"是", "有", "√", "✓", "Y", "YES", "TRUE", "1", "愿意", "退役军人"}
_NO = {"否", "无", "×", "N", "NO", "FALSE", "0", "不愿意", ""}


def _text(raw) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(raw if raw is not None else ""))).strip()


def _choice(raw, table: dict[str, str], *, field: str, label: str, default: str = "") -> str:
    text = _text(raw)
    if not text:
        return default
    value = table.get(text) or table.get(text.upper())
    if value is None:
        raise ApplicationError(
            gettext("%(label)s「%(value)s」不在可选范围内") % {"label": label, "value": text},
            field=field,
            code="choice_invalid",
        )
    return value


def clean_ethnicity(raw) -> str:
    return _choice(raw, _ETHNICITY, field="ethnicity", label=gettext_lazy("民族"))


def clean_registration_type(raw) -> str:
    return _choice(
        raw,
        _REGISTRATION,
        field="registration_type",
        label=gettext_lazy("户籍类型"),
        default=RegistrationType.HOUSEHOLD,
    )


def clean_relation(raw) -> str:
    text = _text(raw)
    if text and text not in _RELATION:
        return Relation.OTHER  # 侄子, 表妹 …: kept as 其他 rather than refusing the person
    return _choice(raw, _RELATION, field="relation", label=gettext_lazy("与户主关系"), default=Relation.HEAD)


def clean_political_status(raw) -> str:
    return _choice(raw, _POLITICAL, field="political_status", label=gettext_lazy("政治面貌"))


def clean_sex(raw) -> str:
    return _choice(raw, _SEX, field="sex", label=gettext_lazy("性别"))


def clean_document_kind(raw) -> str:
    return _choice(
        raw, _DOCUMENT_KIND, field="document_kind", label=gettext_lazy("证件类型"), default=DocumentKind.CITIZEN_ID
    )


def clean_flag(raw, *, field: str, label: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).upper()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ApplicationError(
        gettext("%(label)s应填“是”或“否”，现为「%(value)s」") % {"label": label, "value": text},
        field=field,
        code="flag_invalid",
    )


# The whole record -------------------------------------------------------------------------------

# Fields copied as trimmed text, with their limits.
_TEXT_FIELDS = {"occupation": 100, "employer": 200, "skills": 200, "left_to": 200}
_LONG_TEXT_FIELDS = ("notes", "health_notes")


@dataclass(frozen=True)
class CleanIdentity:
    document_kind: str
    id_number: str
    id_number_hash: str | None
    birth_date: datetime.date | None
    sex: str


def clean_identity(
    *, document_kind=None, id_number=None, birth_date=None, sex=None, today: datetime.date | None = None
) -> CleanIdentity:
    """The document and what it tells: birth date and sex come from a citizen ID number and are never
    typed twice; where both are given they must agree."""
    kind = clean_document_kind(document_kind)
    typed_birth = parse_date(birth_date, field="birth_date", label=gettext_lazy("出生日期"), today=today)
    typed_sex = clean_sex(sex)
    number = ""
    derived_birth = derived_sex = None
    if id_number not in (None, "") and _text(id_number):
        document = (
            parse_id_number(id_number, today=today)
            if kind == DocumentKind.CITIZEN_ID
            else parse_document(kind, id_number, today=today)
        )
        number = document.number
        derived_birth, derived_sex = document.birth_date, document.sex
    if derived_birth and typed_birth and derived_birth != typed_birth:
        raise ApplicationError(
            gettext("出生日期 %(typed)s 与证件号码中的 %(derived)s 不符")
            % {"typed": typed_birth.isoformat(), "derived": derived_birth.isoformat()},
            field="birth_date",
            code="birth_date_mismatch",
        )
    if derived_sex and typed_sex and derived_sex != typed_sex:
        raise ApplicationError(
            gettext("性别与证件号码不符（号码第17位表示%(sex)s）") % {"sex": Sex(derived_sex).label},
            field="sex",
            code="sex_mismatch",
        )
    return CleanIdentity(
        document_kind=kind,
        id_number=number,
        id_number_hash=pii_hash(number, "id_number") if number else None,
        birth_date=derived_birth or typed_birth,
        sex=derived_sex or typed_sex,
    )


def clean_phone(raw, *, default_area_code: str = "") -> tuple[str, str | None]:
    """(canonical phone, its hash); ("", None) when none was given ("无" included)."""
    text = _text(raw)
    if not text or text in ("无", "/", "-", "—"):
        return "", None
    phone = normalise_phone(raw, default_area_code=default_area_code)
    return phone, pii_hash(phone, "phone")


def clean_resident_fields(data: Mapping, *, partial: bool = False, today=None, default_area_code: str = "") -> dict:
    """Model field values from `data` (keys as the model's fields). With `partial`, only the keys
    present are cleaned (an update); identity fields are cleaned together whenever one is given."""
    out: dict = {}

    def given(key: str) -> bool:
        return not partial or key in data

    if given("name"):
        out["name"] = clean_name(data.get("name"))
        out["name_pinyin"], out["name_initials"] = name_pinyin(out["name"])
    if any(given(k) for k in ("document_kind", "id_number", "birth_date", "sex")):
        identity = clean_identity(
            document_kind=data.get("document_kind"),
            id_number=data.get("id_number"),
            birth_date=data.get("birth_date"),
            sex=data.get("sex"),
            today=today,
        )
        out.update(vars(identity))
    if given("phone"):
        out["phone"], out["phone_hash"] = clean_phone(data.get("phone"), default_area_code=default_area_code)
    if given("ethnicity"):
        out["ethnicity"] = clean_ethnicity(data.get("ethnicity"))
    if given("registration_type"):
        out["registration_type"] = clean_registration_type(data.get("registration_type"))
    if given("relation"):
        out["relation"] = clean_relation(data.get("relation"))
    if given("political_status"):
        out["political_status"] = clean_political_status(data.get("political_status"))
    if given("willing_to_serve"):
        out["willing_to_serve"] = clean_flag(
            data.get("willing_to_serve"), field="willing_to_serve", label=gettext_lazy("愿意参与社区事务")
        )
    for key, limit in _TEXT_FIELDS.items():
        if given(key):
            value = unicodedata.normalize("NFKC", str(data.get(key) or "")).strip()
            if len(value) > limit:
                raise ApplicationError(gettext("不能超过 %(n)d 个字符") % {"n": limit}, field=key, code="too_long")
            out[key] = value
    for key in _LONG_TEXT_FIELDS:
        if given(key):
            out[key] = str(data.get(key) or "").strip()
    if given("moved_in_on"):
        out["moved_in_on"] = parse_date(
            data.get("moved_in_on"), field="moved_in_on", label=gettext_lazy("迁入日期"), today=today
        )
    return out
