"""Classification metrics through the ``evaluate`` module ``metrics/facemask_metrics``, and Wilson intervals.

The metric module (loaded offline with ``evaluate.load``) is the one implementation of accuracy, macro-F1,
the unsafe error, per-class scores and the confusion matrix; this module adds the confidence intervals.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from facemask.config import REPO_DIR
from facemask.labels import LABELS

METRIC_DIR = REPO_DIR / "metrics" / "facemask_metrics"
"""The ``evaluate`` metric module (also published as a metric Space by ``python -m hub push-metric``)."""


@lru_cache(maxsize=1)
def facemask_metric() -> Any:
    """The ``evaluate`` metric, loaded once from the repository (in memory: no cache files)."""
    import evaluate

    return evaluate.load(str(METRIC_DIR), keep_in_memory=True)


def compute_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str] = LABELS) -> dict[str, Any]:
    """``facemask_metrics`` of label indices ``y_pred`` against ``y_true`` (names ``labels``)."""
    true, pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    return facemask_metric().compute(predictions=pred, references=true, label_names=list(labels))


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
    m = compute_metrics(y_true, y_pred)
    return m["unsafe_errors"], m["per_class"]["without_mask"]["support"]


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str] = LABELS) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, macro-F1, accuracy, confusion matrix and the unsafe error."""
    m = compute_metrics(y_true, y_pred, labels)
    bare = m["per_class"]["without_mask"]["support"] if "without_mask" in m["per_class"] else 0
    return {
        "n": m["n"],
        "accuracy": m["accuracy"],
        "accuracy_ci95": wilson_interval(int(np.trace(m["confusion_matrix"])), m["n"]),
        "macro_f1": m["macro_f1"],
        "per_class": m["per_class"],
        "confusion_matrix": m["confusion_matrix"],
        "unsafe_errors": m["unsafe_errors"],
        "unsafe_error_rate": m["unsafe_error"],
        "unsafe_error_ci95": wilson_interval(m["unsafe_errors"], bare),
    }
