"""Export the fast-path graph: ``model.onnx`` beside a model folder's weights, from the same timm model.

The graph takes the classifier's preprocessed ``N x 3 x S x S`` float32 batch (``S`` from the folder's
``pretrained_cfg``, batch size dynamic) and returns logits. It is written to a temporary file, checked
against PyTorch, and only then moved over ``model.onnx``: a failed export never leaves a broken graph.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from .model import ONNX_NAME, MaskClassifier, read_config, resolve_model_dir, softmax

log = logging.getLogger(__name__)

MAX_LOGIT_ERROR = 1e-3
MAX_PROBABILITY_ERROR = 1e-4


def export_onnx(model_dir: str | Path, opset: int = 17) -> Path:
    """Write ``<model_dir>/model.onnx`` (dynamic batch) after checking it matches PyTorch."""
    import torch

    folder = resolve_model_dir(model_dir)
    classifier = MaskClassifier(folder, read_config(folder), runtime="torch")
    model = classifier.torch_model()
    size = classifier.preprocess.size
    path = folder / ONNX_NAME
    partial = folder / f".{ONNX_NAME}.partial"
    try:
        with warnings.catch_warnings():
            # the TorchScript exporter is chosen on purpose: the dynamo one needs onnxscript
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (torch.randn(2, 3, size, size),),
                str(partial),
                input_names=["pixel_values"],
                output_names=["logits"],
                dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=opset,
                dynamo=False,
            )
        logit_error, probability_error = _parity(partial, model, size)
        if logit_error > MAX_LOGIT_ERROR or probability_error > MAX_PROBABILITY_ERROR:
            raise RuntimeError(
                f"exported graph differs from PyTorch (logits {logit_error:.1e}, probabilities "
                f"{probability_error:.1e}); {path} not written"
            )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    log.info("exported %s (max difference from PyTorch: logits %.1e, probabilities %.1e)", path, logit_error, probability_error)
    return path


def _parity(graph: Path, model: object, size: int) -> tuple[float, float]:
    """Largest logit and probability differences between ``graph`` and ``model`` on a batch of 1 and of 4."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(0).standard_normal((5, 3, size, size), dtype=np.float32)
    logit_error = probability_error = 0.0
    for part in (batch[:1], batch[1:]):
        with torch.inference_mode():
            expected = model(torch.from_numpy(part)).numpy()  # type: ignore[operator]
        got = session.run(None, {"pixel_values": part})[0]
        logit_error = max(logit_error, float(np.abs(got - expected).max()))
        probability_error = max(probability_error, float(np.abs(softmax(got) - softmax(expected)).max()))
    return logit_error, probability_error
