"""Per-face attributes for bias slices (size, brightness, blur, mask colour) and the slice table."""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from facemask.labels import LABELS

from .metrics import unsafe_errors, wilson_interval

SIZE_BINS = ((0, 16, "<16 px"), (16, 32, "16-31 px"), (32, 64, "32-63 px"), (64, 128, "64-127 px"), (128, 10**9, ">=128 px"))


_ORDER = {name: i for i, (_, _, name) in enumerate(SIZE_BINS)}


def brightness(crop: np.ndarray) -> float:
    """Mean luma (0-255) of a face crop."""
    return float(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).mean())


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the crop resized to 96 px (low = blurry)."""
    gray = cv2.cvtColor(cv2.resize(crop, (96, 96), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def mask_colour(crop: np.ndarray) -> str:
    """``dark`` / ``light`` / ``patterned`` from the lower-face patch of a crop (margin 0.2 around the face box)."""
    h, w = crop.shape[:2]
    patch = crop[int(0.62 * h) : int(0.80 * h), int(0.35 * w) : int(0.65 * w)]
    if patch.size == 0:
        return "unknown"
    gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV).astype(np.float32)
    if gray.std() > 32 or hsv[..., 0].std() > 30 and hsv[..., 1].mean() > 60:
        return "patterned"
    return "dark" if gray.mean() < 110 else "light"


def size_bin(face_px: float) -> str:
    """The face-size bin label of a face whose longer box side is ``face_px``."""
    return next(name for low, high, name in SIZE_BINS if low <= face_px < high)


def brightness_bin(value: float) -> str:
    return "dark (<70)" if value < 70 else "bright (>180)" if value > 180 else "normal"


def sharpness_bin(value: float) -> str:
    return "blurry (<100)" if value < 100 else "sharp (>600)" if value > 600 else "medium"


def face_slices(face_px: float, luma: float, lap_var: float, label: str, colour: str, synthetic: bool) -> dict[str, str]:
    """Slice values of one face (mask colour only for faces annotated as masked)."""
    return {
        "face size": size_bin(face_px),
        "brightness": brightness_bin(luma),
        "blur": sharpness_bin(lap_var),
        "mask colour": colour if label != "without_mask" else "no mask",
        "data": "synthetic" if synthetic else "real",
    }


def slice_table(slices: Sequence[dict[str, str]], y_true: Sequence[int], y_pred: Sequence[int]) -> list[dict[str, Any]]:
    """One row per (slice, value): count, accuracy with its 95% Wilson interval, unsafe errors."""
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    rows = []
    for name in slices[0] if slices else []:
        values = np.array([s[name] for s in slices])
        for value in sorted(set(values), key=_ORDER.get if name == "face size" else str):
            mask = values == value
            n, correct = int(mask.sum()), int(np.sum(true[mask] == pred[mask]))
            unsafe, bare = unsafe_errors(true[mask], pred[mask])
            rows.append(
                {
                    "slice": name,
                    "value": str(value),
                    "n": n,
                    "accuracy": correct / n,
                    "accuracy_ci95": wilson_interval(correct, n),
                    "without_mask_n": bare,
                    "unsafe_errors": unsafe,
                    "per_class_n": {label: int(np.sum(true[mask] == i)) for i, label in enumerate(LABELS)},
                }
            )
    return rows
