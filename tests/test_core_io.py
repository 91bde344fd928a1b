"""Safe image loading: sources, colour modes, orientation and limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facemask.config import Settings
from facemask.io import ImageError, iter_image_paths, load_image


def _png_bytes(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **params)
    return buffer.getvalue()


def test_paths_bytes_pillow_images_and_arrays_all_load_as_rgb(test_data):
    path = test_data / "astronaut.jpg"
    from_path = load_image(path)
    assert from_path.shape == (512, 512, 3) and from_path.dtype == np.uint8
    assert np.array_equal(load_image(path.read_bytes()), from_path)
    assert np.array_equal(load_image(Image.open(path)), from_path)
    assert np.array_equal(load_image(from_path), from_path)
    assert load_image(from_path[:, :, 0]).shape == (512, 512, 3)


def test_exif_orientation_is_applied(test_data):
    upright = Image.open(test_data / "astronaut.jpg").crop((0, 0, 512, 300))
    rotated = upright.transpose(Image.Transpose.ROTATE_270)  # stored rotated...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with "rotate 90 CW to display"
    buffer = io.BytesIO()
    rotated.save(buffer, format="JPEG", exif=exif)
    assert load_image(buffer.getvalue()).shape == (300, 512, 3)


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert load_image(_png_bytes(rgba))[0, 0].tolist() == [255, 255, 255]


def test_sixteen_bit_grayscale_is_scaled_to_eight_bit():
    array = np.full((8, 8), 65535, dtype=np.uint16)
    image = Image.fromarray(array)
    assert load_image(_png_bytes(image))[0, 0].tolist() == [255, 255, 255]


def test_images_over_the_pixel_limit_are_refused_with_the_limit_in_the_message():
    big = Image.new("L", (2000, 1000))
    with pytest.raises(ImageError, match="limit is 1 megapixels"):
        load_image(_png_bytes(big), Settings(max_pixels=1_000_000))


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"", "empty"), (b"hello, not a picture", "not an image"), (None, "truncated or corrupt")],
)
def test_unusable_bytes_give_a_clear_error(payload, message, test_data):
    if payload is None:
        payload = (test_data / "astronaut.jpg").read_bytes()[:5000]
    with pytest.raises(ImageError, match=message):
        load_image(payload)


def test_directories_expand_to_their_images(test_data, tmp_path):
    (tmp_path / "a.png").write_bytes(_png_bytes(Image.new("RGB", (2, 2))))
    (tmp_path / "notes.txt").write_text("x")
    assert iter_image_paths([tmp_path]) == [tmp_path / "a.png"]
