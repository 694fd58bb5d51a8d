"""Personal information under the PIPL: encryption at rest, keyed hashes for exact search, masking.

ID numbers and phones are stored as Fernet tokens (`EncryptedTextField`), so a raw dump of the
database holds no value in clear. A token cannot be searched (every encryption of the same value
differs), so each encrypted column gets a companion column holding `pii_hash(value, kind)`, an
HMAC-SHA256 under a separate key, indexed for exact search.

Keys come from settings.PII_KEYS (MINQING_PII_KEYS): the first key encrypts, every key decrypts,
so a new key is put first, `manage.py pii_rotate_keys` re-encrypts everything under it, and only
then is the old key removed.
"""

import base64
import functools
import hashlib
import hmac
import math
import os
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django import forms
from django.apps import apps as django_apps
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connections, models, router, transaction
from django.db.models.functions import Cast
from django.db.models.lookups import Exact, IsNull


class PiiSerializationError(Exception):
    """Raised rather than writing personal information in clear into a serialised dump."""


# Encryption -------------------------------------------------------------------------------------


class PiiDecryptionError(Exception):
    """A stored value that no configured key can decrypt. Never answered with the ciphertext: a key
    that encrypted it has been removed from MINQING_PII_KEYS (or the value was written by hand)."""


@functools.lru_cache(maxsize=4)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    if not keys:
        raise ImproperlyConfigured("MINQING_PII_KEYS is empty: personal information cannot be encrypted")
    fernets = [Fernet(key) for key in keys]
    return MultiFernet(fernets), fernets[0]


def _multi() -> MultiFernet:
    # Keyed on the current setting (not cached once) so a changed PII_KEYS takes effect at once.
    return _fernets(tuple(settings.PII_KEYS))[0]


def encrypt(value: str) -> str:
    return _multi().encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """Raises cryptography's InvalidToken when no key decrypts it."""
    return _multi().decrypt(token.encode("ascii")).decode()


def encrypt_many(values: list[str | None]) -> list[str | None]:
    """[encrypt(v) for v in values] (None and "" kept, as the field stores them) for a bulk write.

    The same Fernet tokens — version, time, a random IV each, AES-128-CBC, HMAC-SHA256 under the
    first key, byte for byte what Fernet makes from that IV and time (tested) — at a third of the
    cost: Fernet builds a cipher context and an HMAC per value (~30 µs), which dominates writing
    100,000 residents. Here one AES block-cipher context serves every value and CBC chaining is done
    in rounds (block r of every value in one call, XORed with that value's previous block)."""
    todo = [i for i, value in enumerate(values) if value not in (None, "")]
    out = list(values)
    if not todo:
        return out
    key = base64.urlsafe_b64decode(tuple(settings.PII_KEYS)[0])  # the first key encrypts
    signing_key, encryption_key = key[:16], key[16:]
    ivs = os.urandom(16 * len(todo))
    header = b"\x80" + int(time.time()).to_bytes(8, "big")
    padded, previous, cipher = [], [], []
    for k, i in enumerate(todo):
        data = str(values[i]).encode()
        pad = 16 - len(data) % 16  # PKCS7, as Fernet pads
        padded.append(data + bytes((pad,)) * pad)
        previous.append(ivs[16 * k : 16 * k + 16])
        cipher.append(b"")
    # ECB here is the bare block cipher: the chaining below makes it CBC with each value's own IV.
    block_cipher = Cipher(algorithms.AES(encryption_key), modes.ECB()).encryptor()
    pending, start = list(range(len(todo))), 0
    while pending:
        blocks = b"".join(
            (int.from_bytes(padded[k][start : start + 16]) ^ int.from_bytes(previous[k])).to_bytes(16) for k in pending
        )
        encrypted = block_cipher.update(blocks)
        still = []
        for n, k in enumerate(pending):
            block = encrypted[16 * n : 16 * n + 16]
            cipher[k] += block
            previous[k] = block
            if len(padded[k]) > start + 16:
                still.append(k)
        pending, start = still, start + 16
    mac = hmac.new(signing_key, digestmod=hashlib.sha256)
    for k, i in enumerate(todo):
        parts = header + ivs[16 * k : 16 * k + 16] + cipher[k]
        signature = mac.copy()
        signature.update(parts)
        out[i] = base64.urlsafe_b64encode(parts + signature.digest()).decode("ascii")
    return out


def encrypt_bytes(data: bytes) -> bytes:
    """A whole file's worth of personal information (a ledger import's cleaned rows) as one token."""
    return _multi().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    """Raises cryptography's InvalidToken when no key decrypts it (or it was altered)."""
    return _multi().decrypt(token)


def is_current(token: str) -> bool:
    """Whether the token is already encrypted with the first (current) key."""
    try:
        _fernets(tuple(settings.PII_KEYS))[1].decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate_token(token: str) -> str:
    """The same value encrypted again with the first key; raises InvalidToken if no key decrypts it."""
    return _multi().rotate(token.encode("ascii")).decode("ascii")


class _EmptyOnlyExact(Exact):
    """`field=""` finds the rows without a value (stored as ""); any other value is refused, because
    it would be compared with a token and silently match nothing."""

    def get_prep_lookup(self):
        if hasattr(self.rhs, "resolve_expression") or self.rhs not in ("", None):
            raise FieldError(_search_refusal(self.lhs.output_field))
        return super().get_prep_lookup()


def _search_refusal(field) -> str:
    return (
        f"{_field_label(field)} is encrypted: every encryption of a value differs, so it cannot be "
        "filtered, compared or ordered in the database. Search the companion hash column with "
        "minqing.core.pii.pii_hash(value, kind) instead."
    )


def _field_label(field) -> str:
    model = getattr(field, "model", None)
    return f"{model._meta.label}.{field.name}" if model is not None else str(getattr(field, "name", "field"))


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token (MultiFernet over settings.PII_KEYS).

    None stays NULL and "" stays "" (emptiness is not personal information, and it keeps "has no
    phone" a cheap query). Only `isnull` and `= ""` lookups are allowed; exact search goes through
    the companion `pii_hash` column."""

    description = "Text encrypted at rest with the PII keys"

    def __init__(self, *args, mask: str = "", **kwargs):
        # How the value is shown where nobody revealed it (history lines, lists): a MASKERS key.
        self.mask = mask
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.mask:
            kwargs["mask"] = self.mask
        return name, path, args, kwargs

    def masked(self, value: str | None) -> str:
        return MASKERS.get(self.mask, mask_unknown)(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except (InvalidToken, UnicodeError):
            raise PiiDecryptionError(
                f"{_field_label(self)}: a stored value cannot be decrypted with any key in MINQING_PII_KEYS; "
                "a key that encrypted it is missing (add it back, run manage.py pii_rotate_keys, and only "
                "then remove it)"
            ) from None

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def value_to_string(self, obj):
        # Django's serialisers (dumpdata) would write the decrypted value into a plain file.
        raise PiiSerializationError(
            f"{_field_label(self)} holds personal information: dumpdata would write it in clear. Back up the "
            "database itself (pg_dump, or a copy of the SQLite file): values stay encrypted there."
        )

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return IsNull
        if lookup_name == "exact":
            return _EmptyOnlyExact
        raise FieldError(_search_refusal(self))

    def get_transform(self, lookup_name):
        return None

    def formfield(self, **kwargs):
        # A one-line input: these are ID numbers and phones, not prose.
        return super().formfield(**{"form_class": forms.CharField, "widget": forms.TextInput, **kwargs})


# Keyed hashes for exact search ------------------------------------------------------------------

_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]+")


def normalise_for_hash(value: str) -> str:
    """Full-width → half-width (NFKC), no whitespace at all, upper-case: the spellings one value takes
    in ledgers and search boxes ("11010519491231002x", "１１０１ ０５１９…") give one hash."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", value)).upper()


def pii_hash(value: str | None, kind: str) -> str | None:
    """HMAC-SHA256 (settings.PII_HASH_KEY) of the normalised value, as 64 hex characters, or None when
    there is no value (so a unique index over the column ignores the rows without one). `kind`
    ("id_number", "phone", …) separates the domains: the same digits as ID and as phone hash apart.
    Callers pass the canonical value (parse_id_number(...).number, normalise_phone(...))."""
    if not kind:
        raise ValueError("pii_hash needs a kind")
    if value is None:
        return None
    normalised = normalise_for_hash(str(value))
    if not normalised:
        return None
    key = settings.PII_HASH_KEY
    if not key:
        raise ImproperlyConfigured("MINQING_PII_HASH_KEY is empty: personal information cannot be searched")
    mac = _keyed_hmac(key).copy()  # the key schedule once, not per value (an import hashes 200,000)
    mac.update(f"{kind}\x00{normalised}".encode())
    return mac.hexdigest()


@functools.lru_cache(maxsize=4)
def _keyed_hmac(key: str):
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


# Masking ----------------------------------------------------------------------------------------

MASK = "*"


def mask_middle(value: str | None, *, keep_start: int, keep_end: int) -> str:
    """Keep up to `keep_start` leading and `keep_end` trailing characters and star the rest, always
    hiding at least half of the value (short values keep less; one character is fully hidden)."""
    if not value:
        return ""
    length = len(value)
    must_hide = max(1, math.ceil(length / 2))
    while keep_start + keep_end > length - must_hide:
        # Give up the longer end first so a short value still shows a little of both.
        if keep_start >= keep_end and keep_start > 0:
            keep_start -= 1
        else:
            keep_end -= 1
    hidden = length - keep_start - keep_end
    return value[:keep_start] + MASK * hidden + (value[length - keep_end :] if keep_end else "")


def mask_id_number(value: str | None) -> str:
    """1506**********123X: region and last four, as on Chinese print-outs."""
    return mask_middle(value, keep_start=4, keep_end=4)


def mask_document_number(value: str | None) -> str:
    """Passports and other documents: first two and last two."""
    return mask_middle(value, keep_start=2, keep_end=2)


_MOBILE = re.compile(r"1\d{10}")
_LANDLINE = re.compile(r"(0\d{2,3})-(\d{5,8})")


def mask_phone(value: str | None) -> str:
    """138****5678 for a mobile (the customary mask); a landline keeps its area code and shows at
    most half of the local number: 0477-****234."""
    if not value:
        return ""
    if _MOBILE.fullmatch(value):
        return f"{value[:3]}{MASK * 4}{value[7:]}"
    landline = _LANDLINE.fullmatch(value)
    if landline:
        area, local = landline.groups()
        return f"{area}-{mask_middle(local, keep_start=0, keep_end=4)}"
    return mask_middle(value, keep_start=3, keep_end=2)


def mask_unknown(value: str | None) -> str:
    """A value whose kind is not known is hidden whole: no guess at what is safe to show."""
    return MASK * 6 if value else ""


def mask_any_document(value: str | None) -> str:
    """A column holding ID numbers and other documents alike: 18 characters (citizen ID, the HMT
    residence permit, the 2023 permanent-residence card) as an ID number, anything else as a document."""
    if value and len(value) == 18:
        return mask_id_number(value)
    return mask_document_number(value)


MASKERS = {"id_number": mask_id_number, "document": mask_any_document, "phone": mask_phone}


# Key rotation -----------------------------------------------------------------------------------


def encrypted_fields(app_registry=None) -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every concrete model with encrypted columns (history models included), each with those
    columns. Proxies are skipped (their table is their parent's); inherited columns are counted once,
    on the model whose table holds them."""
    found = []
    for model in (app_registry or django_apps).get_models():
        meta = model._meta
        if meta.proxy or meta.swapped:
            continue
        fields = [f for f in meta.local_concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


@dataclass
class RotationCount:
    rotated: int = 0
    current: int = 0
    empty: int = 0
    undecryptable: int = 0
    undecryptable_pks: list = field(default_factory=list)


def rotate_model(
    model: type[models.Model], fields: Iterable[EncryptedTextField], *, batch_size: int = 500, dry_run: bool = False
) -> dict[str, RotationCount]:
    """Re-encrypt every value of `fields` of `model` with the first key, in batches of `batch_size`
    rows, each batch one transaction. Values already under the first key are left alone, so running
    it again changes nothing. A value no key decrypts is counted (with its primary key) and kept.
    `rotated` counts the values re-encrypted; one whose row was rewritten meanwhile keeps the newer
    value, which is already under the first key."""
    fields = list(fields)
    counts = {f.name: RotationCount() for f in fields}
    alias = router.db_for_write(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk_column = quote(model._meta.pk.column)
    for batch in _raw_batches(model, fields, alias=alias, batch_size=batch_size):
        with transaction.atomic(using=alias):
            updates: dict[tuple[str, ...], list[list]] = {}
            for pk, *tokens in batch:
                changed: list[tuple[str, str, str]] = []
                for f, token in zip(fields, tokens, strict=True):
                    count = counts[f.name]
                    if token is None or token == "":
                        count.empty += 1
                    elif is_current(token):
                        count.current += 1
                    else:
                        try:
                            changed.append((f.column, token, rotate_token(token)))
                        except InvalidToken:
                            count.undecryptable += 1
                            count.undecryptable_pks.append(pk)
                            continue
                        count.rotated += 1
                if changed:
                    columns = tuple(column for column, _, _ in changed)
                    params = [new for _, _, new in changed] + [pk] + [old for _, old, _ in changed]
                    updates.setdefault(columns, []).append(params)
            if dry_run:
                continue
            with connection.cursor() as cursor:
                for columns, rows in updates.items():
                    # Compare-and-set on the old token: a row written meanwhile (already with the
                    # first key) is left as it is rather than overwritten with an older value.
                    assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
                    guards = " AND ".join(f"{quote(c)} = %s" for c in columns)
                    cursor.executemany(
                        f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s AND {guards}",
                        rows,
                    )
    return counts


def _raw_batches(model, fields, *, alias: str, batch_size: int) -> Iterator[list[tuple]]:
    """Primary key and raw tokens (cast to plain text so nothing is decrypted), by keyset pagination."""
    raw = {f"_raw_{f.name}": Cast(f.name, models.TextField()) for f in fields}
    queryset = model._base_manager.using(alias).order_by("pk").annotate(**raw)
    last_pk = None
    while True:
        page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        batch = list(page.values_list("pk", *raw)[:batch_size])
        if not batch:
            return
        yield batch
        last_pk = batch[-1][0]
