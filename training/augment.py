"""Augmentation toward real photos, on uint8 face crops (the shared preprocessing runs after it)."""

from __future__ import annotations

import cv2
import numpy as np

from .config import TrainConfig


class Augmenter:
    """Random crop-box scale/shift, rotation, flip, tiny-face resampling, blur, colour jitter, JPEG."""

    def __init__(self, config: TrainConfig, seed: int) -> None:
        self.c = config
        self.rng = np.random.default_rng(seed)

    def geometry(self, crop: np.ndarray) -> np.ndarray:
        c, rng = self.c, self.rng
        size = crop.shape[0]
        scale = rng.uniform(*c.aug_scale)
        angle = rng.uniform(-c.aug_rotate_deg, c.aug_rotate_deg)
        shift = rng.uniform(-c.aug_shift, c.aug_shift, size=2) * size
        matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
        matrix[:, 2] += shift
        out = cv2.warpAffine(crop, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return out[:, ::-1] if rng.random() < c.aug_flip else out

    def degrade(self, crop: np.ndarray) -> np.ndarray:
        c, rng = self.c, self.rng
        size = crop.shape[0]
        if rng.random() < c.aug_downscale_p:
            # the face box is about 1/1.4 of the crop: shrink so the face spans aug_downscale_px pixels
            small = int(round(rng.uniform(*c.aug_downscale_px) * 1.4))
            if small < size:
                crop = cv2.resize(crop, (small, small), interpolation=cv2.INTER_AREA)
                crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
        if rng.random() < c.aug_blur_p:
            crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(*c.aug_blur_sigma))
        return crop

    def colour(self, crop: np.ndarray) -> np.ndarray:
        j, rng = self.c.aug_jitter, self.rng
        image = crop.astype(np.float32)
        gray = image.mean(axis=2, keepdims=True)
        image = gray + (image - gray) * rng.uniform(1 - j, 1 + j)  # saturation
        image = (image - image.mean()) * rng.uniform(1 - j, 1 + j) + image.mean()  # contrast
        image = image * rng.uniform(1 - j, 1 + j)  # brightness
        return np.clip(image, 0, 255).astype(np.uint8)

    def jpeg(self, crop: np.ndarray) -> np.ndarray:
        if self.rng.random() >= self.c.aug_jpeg_p:
            return crop
        quality = int(self.rng.integers(*self.c.aug_jpeg_quality))
        ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else crop

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        """An augmented copy of an RGB uint8 square crop (same size)."""
        return np.ascontiguousarray(self.jpeg(self.colour(self.degrade(self.geometry(crop)))))
