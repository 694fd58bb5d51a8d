"""Real photos for tests, made by Pillow: a phone JPEG with GPS position and orientation in EXIF."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def phone_jpeg(name: str = "IMG_0001.jpg", *, size=(1200, 900), orientation: int = 6) -> SimpleUploadedFile:
    """A JPEG as a phone writes it: camera, time, GPS position, and 'rotate 90°' in the orientation."""
    image = Image.new("RGB", size, (30, 120, 200))
    for x in range(0, size[0], 40):  # some detail, so the JPEG is not trivially small
        image.paste((240, 200, 40), (x, 0, x + 20, size[1] // 2))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel X"  # Model
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (40.0, 48.0, 12.5)
    gps[3], gps[4] = "E", (111.0, 39.0, 30.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=90)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def png_file(name: str = "photo.png", size=(64, 48)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGBA", size, (10, 200, 10, 128)).save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")
