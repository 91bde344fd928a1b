"""Benchmark frames made from real photos: one, four or sixteen faces in a 4:3 frame.

Faces come from ``../shared/data/dataroots_scenes`` (real stock photos) when present, else from the
repository's ``tests/data`` images. Each face is cut out with its surroundings and the cut-outs are
tiled into a grid, so a frame holds exactly the wanted number of real, detectable faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facemask.config import REPO_DIR, SHARED_DIR, Settings
from facemask.detect import FaceDetector
from facemask.io import load_image

SHARED_SCENES = SHARED_DIR / "data" / "dataroots_scenes" / "images"
REPO_IMAGES = REPO_DIR / "tests" / "data"
CONTEXT = 2.4
"""Width of a cut-out as a multiple of the face width."""
MIN_FACE_PX = 48
MIN_SCORE = 0.8


@dataclass(frozen=True)
class FaceSource:
    """A photo and one clearly detected face in it (``box`` is x, y, w, h)."""

    image: np.ndarray
    box: tuple[float, float, float, float]


def source_images(shared: Path = SHARED_SCENES) -> tuple[str, list[Path]]:
    """Where the photos come from (a label) and the photo files, in a fixed order."""
    if shared.is_dir():
        files = sorted(shared.glob("*.jpg"), key=lambda p: (len(p.stem), p.stem))
        if files:
            return f"shared:{shared.relative_to(SHARED_DIR)}", files
    return "repo:tests/data", sorted(REPO_IMAGES.glob("*.jpg"))


def find_faces(paths: list[Path], detector: FaceDetector, wanted: int) -> list[FaceSource]:
    """Up to ``wanted`` large, confidently detected faces from ``paths`` (repeating them if too few)."""
    settings = Settings()
    found: list[FaceSource] = []
    for path in paths:
        image = load_image(path, settings)
        for face in detector.detect(image):
            if face.score >= MIN_SCORE and min(face.box[2], face.box[3]) >= MIN_FACE_PX:
                found.append(FaceSource(image, face.box))
        if len(found) >= wanted:
            break
    if not found:
        raise RuntimeError("no usable face in the benchmark photos")
    return [found[i % len(found)] for i in range(wanted)]


def cut_out(source: FaceSource, width: int, height: int) -> np.ndarray:
    """The face with its surroundings, resized to ``width x height`` (edges replicated past the photo)."""
    x, y, w, h = source.box
    cw = max(w, h * width / height) * CONTEXT
    ch = cw * height / width
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - cw / 2)), int(round(cy - ch / 2))
    x1, y1 = x0 + int(round(cw)), y0 + int(round(ch))
    ih, iw = source.image.shape[:2]
    pad = (max(-y0, 0), max(y1 - ih, 0), max(-x0, 0), max(x1 - iw, 0))
    region = source.image[max(y0, 0) : min(y1, ih), max(x0, 0) : min(x1, iw)]
    region = cv2.copyMakeBorder(region, *pad, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(region, (width, height), interpolation=cv2.INTER_AREA)


def compose(faces: list[FaceSource], width: int = 640, height: int = 480) -> np.ndarray:
    """A ``width x height`` RGB frame tiling ``len(faces)`` cut-outs in a square grid (1, 4, 9, 16...)."""
    grid = int(round(len(faces) ** 0.5))
    if grid * grid != len(faces):
        raise ValueError(f"need a square number of faces, got {len(faces)}")
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    edges_x = np.linspace(0, width, grid + 1).round().astype(int)
    edges_y = np.linspace(0, height, grid + 1).round().astype(int)
    for i, face in enumerate(faces):
        r, c = divmod(i, grid)
        x0, x1, y0, y1 = edges_x[c], edges_x[c + 1], edges_y[r], edges_y[r + 1]
        frame[y0:y1, x0:x1] = cut_out(face, x1 - x0, y1 - y0)
    return frame


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of an RGB image (what a browser or camera sends)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()
