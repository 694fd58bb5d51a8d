"""Photos taken by residents and workers (a demand's, a visit's): checked by what the bytes are (never
the file name or the browser's content type), limited in size and pixels, re-encoded so no EXIF (GPS
position, camera, time) survives, turned upright first, and given a small JPEG thumbnail.

`prepare_photos` does every check in memory before anything is written, so a bad file refuses the
whole submission and stores nothing; `photo_save` writes one checked photo's files onto the model
row that holds them (a core.models.StoredPhoto with its image and thumbnail), inside the caller's
transaction. The files are served only through views that check scope
(`photo_file`)."""

import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from minqing.core.errors import ApplicationError, NotFound

MAX_BYTES = 10 * 1024 * 1024  # per photo, as uploaded
MAX_PHOTOS = 6  # per demand, per visit
# A 48-megapixel phone photo is 8000 × 6000; anything beyond is refused before its pixels are decoded
# (a small PNG can claim 50,000 × 50,000 and take gigabytes to open: a decompression bomb).
MAX_PIXELS = 50_000_000
THUMBNAIL_SIZE = 320
JPEG_QUALITY = 85

# Pillow format → (stored format, content type, extension). MPO is how Pillow reads many phone JPEGs
# (a main picture plus a preview); HEIF/AVIF only where the installed Pillow can decode them.
_FORMATS = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "MPO": ("JPEG", "image/jpeg", "jpg"),
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
    "HEIF": ("JPEG", "image/jpeg", "jpg"),
}
Image.init()
# What the file picker asks for. HEIC only where Pillow decodes it: a phone asked for HEIC sends it as
# is, while one asked for JPEG converts an HEIC photo before uploading.
ACCEPT = "image/jpeg,image/png,image/webp" + (",image/heic,image/heif" if "HEIF" in Image.ID else "")


@dataclass(frozen=True)
class PreparedPhoto:
    name: str
    image: bytes
    thumbnail: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _refuse(name: str, message: str) -> ApplicationError:
    return ApplicationError(
        _("照片“%(name)s”：%(problem)s") % {"name": name or _("未命名"), "problem": message}, field="photos"
    )


def _read(upload, name: str) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_BYTES:
        raise _refuse(name, _("超过 %(mb)d MB。") % {"mb": MAX_BYTES // (1024 * 1024)})
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _refuse(name, _("超过 %(mb)d MB。") % {"mb": MAX_BYTES // (1024 * 1024)})
    if not data:
        raise _refuse(name, _("文件是空的。"))
    return data


def prepare_photo(upload) -> PreparedPhoto:
    """One uploaded file → the bytes to store, or an ApplicationError naming the file."""
    name = str(getattr(upload, "name", "") or "")[-255:]
    data = _read(upload, name)
    not_a_photo = _("不是可识别的照片（支持 JPG、PNG、WebP）。")
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only
            kind = probe.format
            if kind not in _FORMATS:
                raise _refuse(name, not_a_photo)
            if probe.width * probe.height > MAX_PIXELS:
                raise _refuse(name, _("像素过多（最多 %(mp)d 万像素）。") % {"mp": MAX_PIXELS // 10_000})
            probe.verify()  # the structure and checksums, without decoding
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            upright = ImageOps.exif_transpose(source)
    except ApplicationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refuse(name, not_a_photo) from None
    stored_format, content_type, extension = _FORMATS[kind]
    icc = upright.info.get("icc_profile")
    # A fresh info dict: nothing read from the original (EXIF, XMP, PNG text chunks, comments) can be
    # written back by save(); a palette's transparent index is kept, it is part of the picture.
    upright.info = {k: v for k, v in upright.info.items() if k == "transparency"}
    if stored_format == "JPEG":
        upright = _flatten(upright)
    elif upright.mode not in (("RGB", "RGBA") if stored_format == "WEBP" else ("RGB", "RGBA", "L", "LA", "P")):
        alpha = "A" in upright.getbands() or "transparency" in upright.info
        upright = upright.convert("RGBA" if alpha else "RGB")
    out = io.BytesIO()
    options = {"icc_profile": icc} if icc else {}
    if stored_format == "JPEG":
        options |= {"quality": JPEG_QUALITY, "optimize": True}
    elif stored_format == "WEBP":
        options |= {"quality": JPEG_QUALITY}
    upright.save(out, format=stored_format, **options)
    thumb = _flatten(upright.copy())
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=75, optimize=True)
    return PreparedPhoto(
        name=name,
        image=out.getvalue(),
        thumbnail=thumb_out.getvalue(),
        content_type=content_type,
        extension=extension,
        width=upright.width,
        height=upright.height,
    )


def _flatten(image: Image.Image) -> Image.Image:
    """RGB (or grey) for JPEG: transparency laid on white, CMYK and 16-bit modes converted."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def prepare_photos(files: Sequence, *, already: int = 0, too_many: str) -> list[PreparedPhoto]:
    """Check every file (and how many the holder may have: `too_many` is the message, with %(max)d
    and %(already)d) before anything is stored."""
    files = [f for f in files or [] if f]
    if already + len(files) > MAX_PHOTOS:
        raise ApplicationError(too_many % {"max": MAX_PHOTOS, "already": already}, field="photos")
    return [prepare_photo(f) for f in files]


def photo_save(row, photo: PreparedPhoto):
    """Put a checked photo's files and facts on `row` and save it. The files get random names: the
    uploaded file name (often a person's name or the date) is kept only as a label."""
    key = f"{timezone.localdate():%Y%m%d}-{uuid.uuid4().hex}"
    row.content_type, row.size = photo.content_type, len(photo.image)
    row.width, row.height, row.original_name = photo.width, photo.height, photo.name
    row.image.save(f"{key}.{photo.extension}", ContentFile(photo.image), save=False)
    row.thumbnail.save(f"{key}-thumb.jpg", ContentFile(photo.thumbnail), save=False)
    row.save()
    return row


def photo_file(row, kind: str) -> FileResponse:
    """The response for a stored photo (or its thumbnail) whose access the calling view has checked."""
    stored = row.thumbnail if kind == "thumb" else row.image
    if not stored or not default_storage.exists(stored.name):
        raise NotFound()
    response = FileResponse(stored.open("rb"), content_type="image/jpeg" if kind == "thumb" else row.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    return response
