"""The preview's cleaned rows, kept beside the upload for the commit.

Cleaning a row (ID number, dates, phone, pinyin, address) costs far more than matching it against
the registry, and gives the same answer for the same cells on the same day. The preview keeps its
per-row outcome; the commit reuses it and redoes only what depends on the database or the actor
(places, tags, duplicates against the registry, the health-notes right). The rows hold full ID
numbers and phones, so the file is one token under the PII keys (MultiFernet, as the encrypted
fields) and is deleted with the upload. Anything that does not match — another file, another day,
another hash key, an older format, a key that no longer decrypts it — is ignored and the commit
cleans every row again."""

import datetime
import hashlib
import json
import zlib
from pathlib import Path

from cryptography.fernet import InvalidToken

from minqing.core.pii import decrypt_bytes, encrypt_bytes, pii_hash
from minqing.registry.ledger.address import Address
from minqing.registry.ledger.importer import Plan, Refusal

FORMAT = 1
_DATE_KEYS = ("birth_date", "moved_in_on")


def kept_path(upload: Path | str) -> Path:
    return Path(f"{upload}.cleaned")


def _stamp(upload: Path, today: datetime.date) -> dict:
    digest = hashlib.sha256(upload.read_bytes()).hexdigest()
    # The hashes in the rows are only valid under the hash key they were made with.
    return {"format": FORMAT, "file": digest, "today": today.isoformat(), "hash_key": pii_hash("kept", "key")}


def _stage(value):
    if isinstance(value, Refusal):
        return {"!": list(value)}
    if isinstance(value, Address):
        return [value.estate, value.building, value.unit, value.room]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, datetime.date):
                if key not in _DATE_KEYS:
                    raise TypeError(f"{key}: a date where none is expected")
                item = item.isoformat()
            out[key] = item
        return out
    return value


# Values drawn from a short list (民族, 与户主关系 …), shared as the preview's cleaning shares them.
_POOLED = ("document_kind", "sex", "ethnicity", "registration_type", "relation", "political_status", "notes")


def _values(stage, pool: dict):
    if isinstance(stage, dict):
        if "!" in stage:
            return Refusal(*stage["!"])
        for key in _DATE_KEYS:
            if stage.get(key):
                stage[key] = datetime.date.fromisoformat(stage[key])
        for key in _POOLED:
            value = stage.get(key)
            if type(value) is str:
                stage[key] = pool.setdefault(value, value)
    return stage


def _refusal_or(stage, make):
    if isinstance(stage, dict):
        return Refusal(*stage["!"])
    return make(stage)


def keep(upload: Path | str, plan: Plan, *, today: datetime.date) -> None:
    """One JSON line per row, compressed as it goes (a 100,000-row plan never exists twice in
    memory), then encrypted whole."""
    upload = Path(upload)
    packer = zlib.compressobj(1)
    chunks = [packer.compress(json.dumps(_stamp(upload, today)).encode() + b"\n")]
    lines = []
    for row, (name, values, address) in plan.kept.items():
        lines.append(json.dumps([row, _stage(name), _stage(values), _stage(address)], ensure_ascii=False))
        if len(lines) == 2000:
            chunks.append(packer.compress(("\n".join(lines) + "\n").encode()))
            lines = []
    chunks.append(packer.compress(("\n".join(lines) + "\n").encode()) if lines else b"")
    chunks.append(packer.flush())
    kept_path(upload).write_bytes(encrypt_bytes(b"".join(chunks)))


def load(upload: Path | str, *, today: datetime.date) -> dict[int, tuple] | None:
    """The kept rows for `plan_import(reuse=…)`, or None when there are none that still hold."""
    upload = Path(upload)
    try:
        packed = decrypt_bytes(kept_path(upload).read_bytes())
        lines = _lines(packed)
        stamp = json.loads(next(lines))
        if stamp != _stamp(upload, today):
            return None
        out, pool = {}, {}
        # A batch of lines in one json.loads: its keys are one string each for the whole batch, not
        # per row (~100 MB at 100,000 rows), and the repeated choice values are shared through `pool`.
        for batch in _batches(lines, 2000):
            for row, name, values, address in json.loads(b"[" + b",".join(batch) + b"]"):
                out[row] = (
                    _refusal_or(name, str),
                    _values(values, pool),
                    _refusal_or(address, lambda parts: Address(*parts)),
                )
        return out
    except (OSError, InvalidToken, zlib.error, ValueError, TypeError, StopIteration):
        return None


def _batches(lines, size: int):
    batch = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _lines(packed: bytes):
    """The decompressed lines a megabyte at a time: the whole text never sits in memory at once."""
    unpacker = zlib.decompressobj()
    rest = b""
    for start in range(0, len(packed), 1 << 20):
        rest += unpacker.decompress(packed[start : start + (1 << 20)])
        *lines, rest = rest.split(b"\n")
        yield from (line for line in lines if line)
    rest += unpacker.flush()
    yield from (line for line in rest.split(b"\n") if line)


def discard(upload: Path | str) -> None:
    kept_path(upload).unlink(missing_ok=True)
