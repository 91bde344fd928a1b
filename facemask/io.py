"""Safe image loading: size limits before decoding, EXIF orientation, any colour mode to RGB."""

from __future__ import annotations

import io as _io
import os
import warnings
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .config import Settings

ImageSource = Union[str, os.PathLike, bytes, BinaryIO, Image.Image, np.ndarray]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})

# Pillow's own bomb check only warns below 2x its limit; we check the header ourselves instead.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(ValueError):
    """An input that cannot be used as an image; the message is meant for the user."""


def _open(source: ImageSource, settings: Settings) -> Image.Image:
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise ImageError("the file is empty (0 bytes)")
        if len(source) > settings.max_file_bytes:
            raise ImageError(f"the file is larger than {settings.max_file_bytes // 2**20} MB")
        source = _io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"no such file: {path}")
        size = path.stat().st_size
        if size == 0:
            raise ImageError("the file is empty (0 bytes)")
        if size > settings.max_file_bytes:
            raise ImageError(f"the file is larger than {settings.max_file_bytes // 2**20} MB")
    try:
        return Image.open(source)
    except UnidentifiedImageError:
        raise ImageError("not an image file (expected JPEG, PNG, WEBP, BMP, GIF or TIFF)") from None
    except OSError as exc:
        raise ImageError(f"cannot read the image: {exc}") from None


def _check_size(width: int, height: int, settings: Settings) -> None:
    if width < 1 or height < 1:
        raise ImageError("the image has no pixels")
    if width * height > settings.max_pixels:
        raise ImageError(
            f"the image is too large ({width}x{height} = {width * height / 1e6:.0f} megapixels); "
            f"the limit is {settings.max_pixels / 1e6:.0f} megapixels"
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is composited onto white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = array.max() if array.size else 0.0
        scale = 255.0 / (65535.0 if top > 255 else max(top, 1.0))
        gray = np.clip(array * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        gray = ((array - low) / max(high - low, 1e-9) * 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def load_image(source: ImageSource, settings: Settings | None = None) -> np.ndarray:
    """Decode ``source`` into an upright ``H x W x 3`` uint8 RGB array.

    Accepts a path, bytes, a binary file, a Pillow image or an array. Raises :class:`ImageError`
    with a user-facing message for anything that is not a usable image (empty, truncated, not an
    image, over the pixel limit). Animated images give their first frame.
    """
    settings = settings or Settings()
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, settings)
    image = source if isinstance(source, Image.Image) else _open(source, settings)
    _check_size(*image.size, settings)
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            rgb = _to_rgb(upright)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        reason = "the file is truncated or corrupt" if "truncated" in str(exc).lower() else str(exc)
        raise ImageError(f"cannot decode the image: {reason}") from None
    _check_size(*rgb.size, settings)
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _array_to_rgb(array: np.ndarray, settings: Settings) -> np.ndarray:
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageError(f"expected an H x W x 3 image array, got shape {array.shape}")
    _check_size(array.shape[1], array.shape[0], settings)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:
        return load_image(Image.fromarray(array.astype(np.uint8), "RGBA"), settings)
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.max(initial=0) <= 1.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def iter_image_paths(paths: list[str | os.PathLike]) -> list[Path]:
    """Expand directories into the image files they hold (sorted); files are kept as given."""
    result: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            result.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            result.append(path)
    return result
