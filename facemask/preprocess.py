"""Face crops and classifier input, derived from the model's ``pretrained_cfg``.

Training and inference both call :func:`crop_face` and :class:`Preprocess`, so what the model
sees at training time is exactly what it sees in the app. :class:`Preprocess` resizes exactly as
timm's eval transform does from the same ``pretrained_cfg`` (PIL resize of the shorter side to
``floor(size / crop_pct)``, then a centre crop), so timm, transformers and this package compute the
same probabilities for the same crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping, Sequence

import math

import cv2
import numpy as np
from PIL import Image

_INTERPOLATION = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
}
"""timm's interpolation names (``pretrained_cfg["interpolation"]``) as the PIL filters torchvision uses."""


def square_box(box: Sequence[float], margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The square ``(x0, y0, x1, y1)`` around ``box`` (x, y, w, h), grown by ``margin`` per side.

    The square may extend past the image; :func:`crop_face` pads it by edge replication.
    """
    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    x0 = int(round(cx - side / 2.0))
    y0 = int(round(cy - side / 2.0))
    s = max(int(round(side)), 1)
    return x0, y0, x0 + s, y0 + s


def crop_face(image: np.ndarray, box: Sequence[float], margin: float) -> np.ndarray:
    """Square crop of ``image`` (H x W x 3) around ``box``, edges replicated where it leaves the image."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = square_box(box, margin, width, height)
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x1, width), min(y1, height)
    if cx1 <= cx0 or cy1 <= cy0:
        raise ValueError(f"face box {list(box)} lies outside the {width}x{height} image")
    crop = image[cy0:cy1, cx0:cx1]
    pad = (cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1)
    if any(pad):
        crop = cv2.copyMakeBorder(crop, *pad, borderType=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(crop)


@dataclass(frozen=True)
class Preprocess:
    """Resize + normalise face crops into the classifier's NCHW float32 input."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bilinear"
    crop_pct: float = 1.0

    def __post_init__(self) -> None:
        if self.interpolation not in _INTERPOLATION:
            raise ValueError(f"interpolation must be one of {sorted(_INTERPOLATION)}, got {self.interpolation!r}")
        if not 0.0 < self.crop_pct <= 1.0:
            raise ValueError(f"crop_pct must be in (0, 1], got {self.crop_pct}")

    @classmethod
    def from_pretrained_cfg(cls, cfg: Mapping[str, Any]) -> "Preprocess":
        """Build from a timm ``pretrained_cfg`` dict (``input_size``, ``mean``, ``std``, ``interpolation``)."""
        input_size = cfg.get("input_size", (3, 224, 224))
        if input_size[1] != input_size[2]:
            raise ValueError(f"only square inputs are supported, got {input_size}")
        return cls(
            size=int(input_size[1]),
            mean=tuple(float(v) for v in cfg.get("mean", (0.485, 0.456, 0.406))),  # type: ignore[arg-type]
            std=tuple(float(v) for v in cfg.get("std", (0.229, 0.224, 0.225))),  # type: ignore[arg-type]
            interpolation=str(cfg.get("interpolation", "bilinear")),
            crop_pct=float(cfg.get("crop_pct") or 1.0),
        )

    def resize(self, crop: np.ndarray) -> np.ndarray:
        """An RGB uint8 crop as ``size x size``, exactly as timm's eval transform makes it.

        The shorter side is resized to ``floor(size / crop_pct)`` with PIL (as torchvision's
        ``Resize`` does, antialiased when shrinking), keeping the aspect ratio, then the centre
        ``size x size`` is cut out (torchvision's ``CenterCrop`` rounding).
        """
        height, width = crop.shape[:2]
        scale_size = math.floor(self.size / self.crop_pct)
        if min(height, width) != scale_size:
            if width <= height:
                new_w, new_h = scale_size, int(scale_size * height / width)
            else:
                new_w, new_h = int(scale_size * width / height), scale_size
            pil = Image.fromarray(np.ascontiguousarray(crop)).resize((new_w, new_h), _INTERPOLATION[self.interpolation])
            crop = np.asarray(pil)
            height, width = new_h, new_w
        if height == self.size and width == self.size:
            return crop
        if height < self.size or width < self.size:
            raise ValueError(f"crop of {width}x{height} is smaller than the {self.size}px input after resizing")
        top = int(round((height - self.size) / 2.0))
        left = int(round((width - self.size) / 2.0))
        return crop[top : top + self.size, left : left + self.size]

    @cached_property
    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``scale, offset`` so that ``pixel * scale + offset == (pixel / 255 - mean) / std``."""
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        return (1.0 / (255.0 * std)).astype(np.float32), (-mean / std).astype(np.float32)

    def normalize(self, resized: np.ndarray) -> np.ndarray:
        """``size x size x 3`` uint8 (or a batch of them) to float32 CHW, normalised.

        One fused multiply-add per channel, written straight into the CHW output (no temporaries).
        """
        scale, offset = self._affine
        out = np.empty(resized.shape[:-3] + (3,) + resized.shape[-3:-1], dtype=np.float32)
        for channel in range(3):
            plane = out[..., channel, :, :]
            np.multiply(resized[..., channel], scale[channel], out=plane, casting="unsafe")
            plane += offset[channel]
        return out

    def __call__(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Batch of RGB uint8 crops (any sizes) to an ``N x 3 x size x size`` float32 array."""
        if len(crops) == 0:
            return np.zeros((0, 3, self.size, self.size), dtype=np.float32)
        return self.normalize(np.stack([self.resize(c) for c in crops]))
