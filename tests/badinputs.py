"""A corpus of bad and unusual image inputs, written into a folder by the tests.

``write_corpus(folder)`` creates every file and returns one :class:`Case` per file saying what a
correct answer is: either an error (with a word the message must contain) or a decoded image of
a known size with a known number of faces, and, for the astronaut-based cases, where the face is
in the upright image. Everything is generated from ``tests/data/astronaut.jpg``,
``tests/data/no_face.jpg`` and numpy; nothing comes from ``../shared``.

Run ``python tests/badinputs.py OUT_DIR`` to write the corpus for a manual look.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

DATA = Path(__file__).resolve().parent / "data"

# The upright test portrait: astronaut.jpg cropped to 384 wide x 512 tall (not square, so a
# rotation that swaps width and height is caught), and where its one face lies.
PORTRAIT_CROP = (slice(0, 512), slice(64, 448))
PORTRAIT_FACE = (115.0, 65.0, 90.0, 109.0)
"""The face box ``(x, y, w, h)`` that the detector finds in :func:`portrait` (YuNet, +-10 px)."""
HEAD = (slice(30, 230), slice(125, 325))
"""The astronaut's head and shoulders in astronaut.jpg, used to tile many faces."""

BOMB_SIDE = 20_000
PANORAMA_OFFSET = 300


@dataclass(frozen=True)
class Case:
    """One corpus file and what a correct answer for it is."""

    name: str
    path: Path
    error: str | None = None
    """Substring of the expected error message (lower case); ``None`` means the file must decode."""
    size: tuple[int, int] | None = None
    """Expected ``(width, height)`` of the decoded, upright image."""
    faces: int | None = None
    """Expected number of faces found (at the default threshold), when it is certain."""
    min_faces: int = 0
    """At least this many faces must be found (for crowded images where a few may be missed)."""
    face_box: tuple[float, float, float, float] | None = None
    """Where the one face lies in the upright image, when known."""

    @property
    def ok(self) -> bool:
        """Whether a correct answer is a decoded image (not an error)."""
        return self.error is None


def portrait() -> np.ndarray:
    """The upright 384 x 512 RGB astronaut portrait with one face at :data:`PORTRAIT_FACE`."""
    rgb = cv2.cvtColor(cv2.imread(str(DATA / "astronaut.jpg")), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(rgb[PORTRAIT_CROP])


def _jpeg(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def stored_for_orientation(upright: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera stores with EXIF ``orientation`` so that a viewer shows ``upright``.

    Written from the EXIF specification's row/column meanings, independently of Pillow.
    """
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],  # row 0 = top, column 0 = right
        3: lambda a: a[::-1, ::-1],  # row 0 = bottom, column 0 = right
        4: lambda a: a[::-1, :],  # row 0 = bottom, column 0 = left
        5: lambda a: a.transpose(1, 0, 2),  # row 0 = left, column 0 = top
        6: lambda a: np.rot90(a, 1),  # row 0 = right, column 0 = top
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # row 0 = right, column 0 = bottom
        8: lambda a: np.rot90(a, -1),  # row 0 = left, column 0 = bottom
    }
    return np.ascontiguousarray(ops[orientation](upright))


def exif_jpeg(upright: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose stored pixels are rotated/flipped and whose EXIF orientation tag undoes it."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _jpeg(Image.fromarray(stored_for_orientation(upright, orientation)), exif=exif.tobytes())


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(width: int = BOMB_SIDE, height: int = BOMB_SIDE) -> bytes:
    """A valid PNG header claiming ``width x height`` RGB pixels, with a few KB of zlib'd zero rows."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * ((1 + 3 * width) * 16), 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")


def jpeg_bomb(side: int = 60_000) -> bytes:
    """A small JPEG whose frame header (SOF0) claims ``side x side`` pixels."""
    data = bytearray(_jpeg(Image.new("RGB", (16, 16), (128, 128, 128))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    return bytes(data)


def tiled_faces(columns: int = 8, rows: int = 5, tile: int = 110) -> np.ndarray:
    """``columns x rows`` copies of the astronaut's head on a grey canvas (40 faces by default)."""
    astronaut = cv2.cvtColor(cv2.imread(str(DATA / "astronaut.jpg")), cv2.COLOR_BGR2RGB)
    head = cv2.resize(astronaut[HEAD], (tile, tile), interpolation=cv2.INTER_AREA)
    canvas = np.full((rows * tile, columns * tile, 3), 190, dtype=np.uint8)
    for r in range(rows):
        for c in range(columns):
            canvas[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile] = head
    return canvas


def panorama(width: int = 8000, height: int = 500) -> np.ndarray:
    """A very wide strip: a gradient with the portrait's upper half pasted near the left end."""
    ramp = np.linspace(40, 220, width, dtype=np.float32)
    strip = np.repeat(np.repeat(ramp[None, :, None], height, axis=0), 3, axis=2).astype(np.uint8)
    strip[:, PANORAMA_OFFSET : PANORAMA_OFFSET + 384] = portrait()[:height]
    return strip


def write_corpus(folder: Path) -> list[Case]:
    """Write every corpus file into ``folder`` and return the cases, in a stable order."""
    folder.mkdir(parents=True, exist_ok=True)
    upright = portrait()
    height, width = upright.shape[:2]
    pil = Image.fromarray(upright)
    good_jpeg = _jpeg(pil)
    gray = np.asarray(pil.convert("L"))
    cases: list[Case] = []

    def add(filename: str, data: bytes, **expect: object) -> None:
        path = folder / filename
        path.write_bytes(data)
        cases.append(Case(name=Path(filename).stem, path=path, **expect))  # type: ignore[arg-type]

    one_face = dict(size=(width, height), faces=1, face_box=PORTRAIT_FACE)

    # refused with a clear message
    add("truncated.jpg", good_jpeg[: len(good_jpeg) // 2], error="truncated")
    add("text_named.jpg", b"This is a text file, not a picture.\n" * 20, error="not an image")
    add("html_named.png", b"<!doctype html><html><body>hello</body></html>\n", error="not an image")
    add("empty.jpg", b"", error="empty")
    add("bomb_20000x20000.png", png_bomb(), error="megapixels")
    add("bomb_60000x60000.jpg", jpeg_bomb(), error="megapixels")
    add("truncated_header.png", _encode(pil, "PNG")[:40], error="not an image")
    # unusual but valid: decoded, with the face found where it is
    add("cmyk.jpg", _jpeg(pil.convert("CMYK")), **one_face)
    add("gray16.png", _encode(Image.fromarray(gray.astype(np.uint16) * 257), "PNG"), **one_face)
    rgb16 = cv2.cvtColor(upright, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
    add("rgb16.png", cv2.imencode(".png", rgb16)[1].tobytes(), **one_face)
    alpha = np.zeros((height, width), dtype=np.uint8)
    alpha[:300, 60:330] = 255  # the head is opaque, the rest fully transparent
    add("rgba_transparent.png", _encode(Image.fromarray(np.dstack([upright, alpha]), "RGBA"), "PNG"), **one_face)
    add("gray_alpha.png", _encode(Image.fromarray(np.dstack([gray, alpha]), "LA"), "PNG"), **one_face)
    add("palette.png", _encode(pil.quantize(colors=256), "PNG"), **one_face)
    palette_t = pil.quantize(colors=255)
    add("palette_transparency.png", _encode(palette_t, "PNG", transparency=0), **one_face)
    frames = [pil, Image.fromarray(np.full_like(upright, 30)), Image.fromarray(upright[::-1])]
    add("animated.gif", _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0), **one_face)
    for orientation in range(1, 9):
        add(f"exif_orientation_{orientation}.jpg", exif_jpeg(upright, orientation), **one_face)
    add("grayscale.jpg", _jpeg(Image.fromarray(gray)), **one_face)
    add("webp.webp", _encode(pil, "WEBP", quality=90), **one_face)
    add("bmp.bmp", _encode(pil, "BMP"), **one_face)
    add("float.tiff", _encode(Image.fromarray(gray.astype(np.float32) / 255.0), "TIFF"), **one_face)
    add("jpeg_named.png", good_jpeg, **one_face)
    add("pixel_1x1.png", _encode(Image.new("RGB", (1, 1), (200, 150, 120)), "PNG"), size=(1, 1), faces=0)
    add("line_4000x1.png", _encode(Image.new("L", (4000, 1), 90), "PNG"), size=(4000, 1), faces=0)
    add("column_1x4000.png", _encode(Image.new("L", (1, 4000), 90), "PNG"), size=(1, 4000), faces=0)
    pano_face = (PORTRAIT_FACE[0] + PANORAMA_OFFSET, *PORTRAIT_FACE[1:])
    add("panorama_8000x500.jpg", _jpeg(Image.fromarray(panorama())), size=(8000, 500), faces=1, face_box=pano_face)
    add("no_face.jpg", (DATA / "no_face.jpg").read_bytes(), size=(600, 400), faces=0)
    faces40 = tiled_faces()
    add("faces_40.jpg", _jpeg(Image.fromarray(faces40)), size=(faces40.shape[1], faces40.shape[0]), min_faces=36)
    return cases


def main(argv: list[str]) -> int:
    """Write the corpus into the folder given on the command line."""
    if len(argv) != 2:
        print("usage: python tests/badinputs.py OUT_DIR", file=sys.stderr)
        return 2
    for case in write_corpus(Path(argv[1])):
        print(f"{case.path.name:32s} {'error: ' + case.error if case.error is not None else 'ok'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
