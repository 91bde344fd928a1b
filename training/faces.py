"""Face crops for training, made with the app's own detector and cropper.

Annotated faces are matched to detector boxes by IoU so that crop geometry matches inference;
faces the detector misses fall back to their annotation box, shifted and scaled by the median
offset between matched annotation and detector boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

from facemask.detect import Face, FaceDetector

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class BoxAdjustment:
    """Median detector-vs-annotation geometry: centre offsets (fraction of the side) and size ratios."""

    dx: float = 0.0
    dy: float = 0.0
    sw: float = 1.0
    sh: float = 1.0

    @classmethod
    def fit(cls, pairs: Sequence[tuple[Box, Box]]) -> "BoxAdjustment":
        """Fit from ``(annotation, detector)`` box pairs; identity when there are none."""
        if not pairs:
            return cls()
        a = np.array([p[0] for p in pairs], dtype=np.float64)
        d = np.array([p[1] for p in pairs], dtype=np.float64)
        dx = ((d[:, 0] + d[:, 2] / 2) - (a[:, 0] + a[:, 2] / 2)) / a[:, 2]
        dy = ((d[:, 1] + d[:, 3] / 2) - (a[:, 1] + a[:, 3] / 2)) / a[:, 3]
        return cls(float(np.median(dx)), float(np.median(dy)), float(np.median(d[:, 2] / a[:, 2])), float(np.median(d[:, 3] / a[:, 3])))

    def apply(self, box: Box) -> Box:
        """An annotation box moved to where the detector would most likely put it."""
        x, y, w, h = box
        cx, cy = x + w / 2 + self.dx * w, y + h / 2 + self.dy * h
        nw, nh = w * self.sw, h * self.sh
        return (cx - nw / 2, cy - nh / 2, nw, nh)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match_boxes(annotations: Sequence[Box], detections: Sequence[Box], min_iou: float) -> list[int | None]:
    """For each annotation, the index of its detection (greedy, highest IoU first, one-to-one) or ``None``."""
    candidates = sorted(
        ((iou(a, d), i, j) for i, a in enumerate(annotations) for j, d in enumerate(detections)),
        reverse=True,
    )
    matched: list[int | None] = [None] * len(annotations)
    used: set[int] = set()
    for overlap, i, j in candidates:
        if overlap < min_iou:
            break
        if matched[i] is None and j not in used:
            matched[i] = j
            used.add(j)
    return matched


def contains(box: Box, point: tuple[float, float]) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def tight_crop_face(image: np.ndarray, detector: FaceDetector, min_cover: float) -> Face | None:
    """The face of an image that is already a tight face crop, else ``None``.

    Detectors miss faces that fill the frame; padding the image by half its size on each side
    lets the detector see the whole head. The image counts as a tight crop when the found face
    covers at least ``min_cover`` of it.
    """
    h, w = image.shape[:2]
    py, px = h // 2, w // 2
    fill = [int(v) for v in image.reshape(-1, 3).mean(axis=0)]
    padded = cv2.copyMakeBorder(image, py, py, px, px, cv2.BORDER_CONSTANT, value=fill)
    faces = detector.detect(padded)
    if not faces:
        return None
    face = faces[0]
    x, y, fw, fh = face.box
    box = (x - px, y - py, fw, fh)
    inter = max(0.0, min(box[0] + fw, w) - max(box[0], 0)) * max(0.0, min(box[1] + fh, h) - max(box[1], 0))
    if inter < min_cover * w * h:
        return None
    landmarks = None if face.landmarks is None else face.landmarks - np.array([px, py], dtype=np.float32)
    return Face(box, face.score, landmarks)


def main_face(faces: Sequence[Any], width: int, height: int) -> Any:
    """The photo's main face (anything with a ``box``): the largest, discounted by its distance from the centre.

    ``None`` when there is no face.
    Close-ups are labelled by their main person; a bystander behind them is smaller or off-centre.
    """
    if not faces:
        return None
    half_diagonal = max(float(np.hypot(width, height)) / 2, 1.0)

    def weight(face: Any) -> float:
        x, y, w, h = face.box
        off = float(np.hypot(x + w / 2 - width / 2, y + h / 2 - height / 2)) / half_diagonal
        return w * h * max(1.0 - off, 0.05)

    return max(faces, key=weight)


def whole_image_face(width: int, height: int, margin: float) -> Face:
    """A face box such that the inference crop (``margin`` on each side) spans the image's shorter side, centred.

    The last resort for a face-centred close-up where no detector pass finds the face.
    """
    side = min(width, height) / (1 + 2 * margin)
    return Face(((width - side) / 2, (height - side) / 2, side, side), 0.0, None)
