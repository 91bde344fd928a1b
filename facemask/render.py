"""Drawing results onto an image: a box and a text label per face, in colour-blind-safe colours."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from .labels import COLORS, DISPLAY_NAMES

if TYPE_CHECKING:
    from .pipeline import FaceResult


def _text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = background
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def draw_faces(image: np.ndarray, faces: list["FaceResult"]) -> np.ndarray:
    """Draw each face's box and ``#n label confidence`` on a copy-free RGB ``image`` (in place)."""
    height, width = image.shape[:2]
    base = max(min(width, height) / 640.0, 0.4)
    # labels stay readable when the app scales a large image down to fit its result pane
    scale = max(max(width, height) / 1300.0, 0.4)
    weight = 2 if scale >= 0.9 else 1
    for number, face in enumerate(faces, start=1):
        color = COLORS[face.label]
        x, y, w, h = (int(round(v)) for v in face.box)
        thickness = max(int(round(2 * base)), 1)
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.rectangle(image, (x, y), (x + w, y + h), color, thickness, cv2.LINE_AA)
        text = f"#{number} {DISPLAY_NAMES[face.label]} {face.confidence:.0%}"
        (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, weight)
        ty = y - 4 if y - th - baseline - 4 >= 0 else min(y + h + th + 4, height - baseline)
        tx = min(max(x, 0), max(width - tw - 4, 0))
        cv2.rectangle(image, (tx, ty - th - 3), (tx + tw + 4, ty + baseline), color, cv2.FILLED)
        cv2.putText(image, text, (tx + 2, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, _text_color(color), weight, cv2.LINE_AA)
    return image
