"""Regenerate the small test images in this folder from scikit-image's bundled photos.

Run: ``python tests/data/make_images.py``. Nothing here comes from ../shared/data.
* ``astronaut.jpg`` - scikit-image's astronaut (Eileen Collins, public domain, NASA): one bare face.
* ``astronaut_masked.jpg`` - the same photo with a surgical-style mask painted over mouth and nose.
* ``group.jpg`` - six faces tiled from the two photos above, at several sizes, on a plain background.
* ``no_face.jpg`` - scikit-image's coffee cup: a photo with no face.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

HERE = Path(__file__).resolve().parent


def astronaut() -> np.ndarray:
    """The astronaut photo, 512 x 512 RGB."""
    return data.astronaut()


def paint_mask(image: np.ndarray) -> np.ndarray:
    """Paint a light-blue mask with ear loops over the astronaut's nose, mouth and chin."""
    out = image.copy()
    poly = np.array([[188, 122], [220, 114], [254, 122], [262, 150], [248, 172], [220, 180], [194, 172], [181, 150]])
    cv2.fillPoly(out, [poly], (168, 205, 230), lineType=cv2.LINE_AA)
    for y in (132, 146, 160):
        cv2.line(out, (188, y), (256, y), (140, 178, 205), 2, cv2.LINE_AA)
    cv2.line(out, (188, 124), (176, 112), (230, 230, 230), 2, cv2.LINE_AA)
    cv2.line(out, (254, 124), (268, 112), (230, 230, 230), 2, cv2.LINE_AA)
    return out


def group(bare: np.ndarray, masked: np.ndarray) -> np.ndarray:
    """Six head-and-shoulders tiles at three sizes on a grey 960 x 540 canvas."""
    canvas = np.full((540, 960, 3), 200, dtype=np.uint8)
    head = (slice(30, 230), slice(125, 325))
    tiles = [(bare, 200, 20, 40), (masked, 200, 250, 40), (bare, 160, 480, 60), (masked, 160, 680, 60),
             (masked, 120, 60, 320), (bare, 120, 300, 320)]
    for source, size, x, y in tiles:
        tile = cv2.resize(source[head], (size, size), interpolation=cv2.INTER_AREA)
        canvas[y : y + size, x : x + size] = tile
    return canvas


def save(name: str, image: np.ndarray, quality: int = 90) -> None:
    cv2.imwrite(str(HERE / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])


def main() -> None:
    bare = astronaut()
    masked = paint_mask(bare)
    save("astronaut.jpg", bare)
    save("astronaut_masked.jpg", masked)
    save("group.jpg", group(bare, masked))
    save("no_face.jpg", data.coffee())


if __name__ == "__main__":
    main()
