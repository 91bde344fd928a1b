"""Classification metrics (scikit-learn; the HF ``evaluate`` library needs the Hub) and Wilson intervals."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from facemask.labels import LABELS


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for a proportion ``successes / n`` (``(0, 1)`` when ``n == 0``)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def unsafe_errors(y_true: Sequence[int], y_pred: Sequence[int]) -> tuple[int, int]:
    """``(without_mask faces called with_mask, without_mask faces)``."""
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    bare = true == LABELS.index("without_mask")
    return int(np.sum(bare & (pred == LABELS.index("with_mask")))), int(np.sum(bare))


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str] = LABELS) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, macro-F1, accuracy, confusion matrix and the unsafe error."""
    idx = list(range(len(labels)))
    true, pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    present = [i for i in idx if np.any(true == i)]
    precision, recall, f1, support = precision_recall_fscore_support(true, pred, labels=idx, zero_division=0)
    unsafe, bare = unsafe_errors(true, pred) if labels == LABELS else (0, 0)
    n_correct = int(np.sum(true == pred))
    return {
        "n": int(len(true)),
        "accuracy": float(accuracy_score(true, pred)) if len(true) else 0.0,
        "accuracy_ci95": wilson_interval(n_correct, len(true)),
        "macro_f1": float(f1_score(true, pred, labels=present, average="macro", zero_division=0)) if present else 0.0,
        "per_class": {
            labels[i]: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i in idx
        },
        "confusion_matrix": confusion_matrix(true, pred, labels=idx).tolist(),
        "unsafe_errors": unsafe,
        "unsafe_error_rate": unsafe / bare if bare else 0.0,
        "unsafe_error_ci95": wilson_interval(unsafe, bare),
    }
