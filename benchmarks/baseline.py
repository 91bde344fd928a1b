"""The naive baseline (the seed's approach): eager PyTorch MobileNetV2, fp32, whole frame resized to 224."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

SIZE = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class NaiveClassifier:
    """``timm.create_model("mobilenetv2_100", num_classes=3)`` in eager mode on the whole image."""

    def __init__(self) -> None:
        import timm
        import torch

        self._torch = torch
        self.model: Any = timm.create_model("mobilenetv2_100", pretrained=False, num_classes=3).eval()

    def tensor(self, images: list[np.ndarray]) -> Any:
        """Whole RGB images, resized to 224 x 224 and normalised, as one NCHW tensor."""
        batch = np.stack([cv2.resize(im, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR) for im in images])
        batch = (batch.astype(np.float32) / 255.0 - MEAN) / STD
        return self._torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))

    def __call__(self, images: list[np.ndarray]) -> np.ndarray:
        """Class probabilities for whole images."""
        with self._torch.no_grad():
            return self._torch.softmax(self.model(self.tensor(images)), dim=1).numpy()
