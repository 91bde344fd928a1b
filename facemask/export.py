"""Export the fast-path graph: ``model.onnx`` beside a model folder's weights, from the same timm model."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .model import ONNX_NAME, MaskClassifier, read_config, resolve_model_dir

log = logging.getLogger(__name__)


def export_onnx(model_dir: str | Path, opset: int = 17) -> Path:
    """Write ``<model_dir>/model.onnx`` (dynamic batch) and check it matches PyTorch on random input."""
    import torch

    folder = resolve_model_dir(model_dir)
    classifier = MaskClassifier(folder, read_config(folder), runtime="torch")
    model = classifier.torch_model()
    size = classifier.preprocess.size
    example = torch.randn(2, 3, size, size)
    path = folder / ONNX_NAME
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=["pixel_values"],
        output_names=["logits"],
        dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=opset,
        dynamo=False,
    )
    fast = MaskClassifier(folder, classifier.config, runtime="onnx")
    batch = np.random.default_rng(0).standard_normal((4, 3, size, size), dtype=np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch)).numpy()
    error = float(np.abs(fast.logits(batch) - expected).max())
    if error > 1e-3:
        path.unlink()
        raise RuntimeError(f"exported graph differs from PyTorch by {error:.2e}; not kept")
    log.info("exported %s (max logit difference %.1e)", path, error)
    return path
