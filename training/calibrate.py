"""A calibrated decision rule: per-class logit offsets chosen on the validation split.

``MaskClassifier`` adds ``config.json`` → ``logit_bias`` to the logits in both runtimes, so the
rule chosen here is the rule the app applies.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from facemask.labels import LABELS
from facemask.model import CONFIG_NAME, MaskClassifier, read_config

from .metrics import classification_metrics

GRID = np.round(np.arange(-2.0, 2.01, 0.25), 2)


def bias_score(
    logits: np.ndarray,
    labels: np.ndarray,
    bias: np.ndarray,
    unsafe_weight: float,
    real: np.ndarray | None = None,
    real_share: float = 0.0,
) -> tuple[float, dict[str, Any]]:
    """Macro-F1 minus ``unsafe_weight`` x unsafe-error rate of ``argmax(logits + bias)``.

    With a ``real`` mask and ``real_share`` > 0, the score blends the whole split's value with that of
    its real-photo faces (the ones the product meets), in that share.
    """
    pred = (logits + bias).argmax(axis=1)
    m = classification_metrics(labels, pred)
    score = m["macro_f1"] - unsafe_weight * m["unsafe_error_rate"]
    if real is not None and real_share > 0 and real.any():
        r = classification_metrics(labels[real], pred[real])
        score = (1 - real_share) * score + real_share * (r["macro_f1"] - unsafe_weight * r["unsafe_error_rate"])
    return score, m


def choose_logit_bias(
    logits: np.ndarray,
    labels: np.ndarray,
    unsafe_weight: float,
    real: np.ndarray | None = None,
    real_share: float = 0.0,
) -> tuple[list[float], dict[str, Any]]:
    """Offsets for ``with_mask`` and ``incorrect_mask`` (``without_mask`` fixed at 0) that score best; ties go to the smallest."""
    with_i, incorrect_i = LABELS.index("with_mask"), LABELS.index("incorrect_mask")
    best: tuple[float, float, np.ndarray, dict[str, Any]] | None = None
    for b_with, b_incorrect in itertools.product(GRID, GRID):
        bias = np.zeros(len(LABELS), dtype=np.float32)
        bias[with_i], bias[incorrect_i] = b_with, b_incorrect
        score, m = bias_score(logits, labels, bias, unsafe_weight, real, real_share)
        size = float(np.abs(bias).sum())
        if best is None or score > best[0] + 1e-9 or (abs(score - best[0]) <= 1e-9 and size < best[1]):
            best = (score, size, bias, m)
    assert best is not None
    _, base = bias_score(logits, labels, np.zeros(len(LABELS), dtype=np.float32), unsafe_weight)
    report = {
        "before": {"macro_f1": base["macro_f1"], "unsafe_error_rate": base["unsafe_error_rate"]},
        "after": {"macro_f1": best[3]["macro_f1"], "unsafe_error_rate": best[3]["unsafe_error_rate"]},
    }
    return [float(v) for v in best[2]], report


def calibrate(
    model_dir: Path,
    crops: list[np.ndarray],
    labels: np.ndarray,
    unsafe_weight: float,
    real: np.ndarray | None = None,
    real_share: float = 0.0,
) -> dict[str, Any]:
    """Choose the offsets on validation crops and store them in ``model_dir/config.json``."""
    classifier = MaskClassifier(model_dir, {**read_config(model_dir), "logit_bias": None}, runtime="onnx")
    logits = classifier.logits(classifier.preprocess(crops))
    bias, report = choose_logit_bias(logits, labels, unsafe_weight, real, real_share)
    path = model_dir / CONFIG_NAME
    config = json.loads(path.read_text())
    config["logit_bias"] = bias
    path.write_text(json.dumps(config, indent=2))
    return {"logit_bias": bias, "unsafe_weight": unsafe_weight, "real_share": real_share, **report}
