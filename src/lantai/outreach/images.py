"""Display versions 展示图 of items' access copies for online exhibitions.

An access copy 利用件 that is an image is read from storage (verified), scaled down with
Pillow and cached as JPEG under ``DATA_DIR/cache/outreach`` named by the stored object's
SHA-256 and the size, written to a temporary name, fsynced and renamed so a half-written file
is never served. Who may see the image is decided by the caller (services.public_image).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from lantai.storage.models import Component, ComponentRole
from lantai.storage.services import open_object

SIZES = {"thumb": 400, "display": 1200}
IMAGE_MIMES = ("image/jpeg", "image/png", "image/tiff", "image/gif", "image/webp")
Image.MAX_IMAGE_PIXELS = 200_000_000  # scanned maps are large; bombs are larger


def cache_dir() -> Path:
    path = Path(settings.DATA_DIR) / "cache" / "outreach"
    path.mkdir(parents=True, exist_ok=True)
    return path


def access_images(item_ids) -> dict[int, Component]:
    """The first image access copy of each item, by item id."""
    found: dict[int, Component] = {}
    components = Component.objects.filter(
        item_id__in=list(item_ids), role=ComponentRole.ACCESS, mime__in=IMAGE_MIMES
    ).select_related("object")
    for component in components.order_by("item_id", "sequence"):
        found.setdefault(component.item_id, component)
    return found


def display_version(component: Component, size: str) -> Path | None:
    """The cached JPEG of ``component`` at ``size`` ("thumb" or "display"); None when the
    stored file is not a readable image."""
    edge = SIZES[size]
    target = cache_dir() / f"{component.object.sha256}-{edge}.jpg"
    if target.exists():
        return target
    try:
        with open_object(component.object) as stream, Image.open(stream) as image:
            image.load()
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    picture.thumbnail((edge, edge))
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as out:
            picture.save(out, "JPEG", quality=85)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target
