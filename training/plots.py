"""Figures for the model card: the confusion matrix and the bias-slice accuracies with 95% intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from facemask.labels import LABELS  # noqa: E402


def plot_confusion(matrix: np.ndarray, path: Path) -> None:
    """Counts with row-normalised shading; rows are true labels."""
    norm = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=20)
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Test split confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_slices(rows: list[dict[str, Any]], path: Path) -> None:
    """Horizontal bars: accuracy per slice value with its Wilson interval and count."""
    labels = [f"{r['slice']}: {r['value']} (n={r['n']})" for r in rows]
    acc = np.array([r["accuracy"] for r in rows])
    low = np.maximum(acc - np.array([r["accuracy_ci95"][0] for r in rows]), 0.0)
    high = np.maximum(np.array([r["accuracy_ci95"][1] for r in rows]) - acc, 0.0)
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(rows) + 1.2))
    y = np.arange(len(rows))
    ax.barh(y, acc, xerr=[low, high], color="#0072B2", ecolor="black", capsize=2)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(max(0.0, float((acc - low).min()) - 0.05), 1.0)
    ax.set_xlabel("accuracy (95% Wilson interval)")
    ax.set_title("Test split accuracy by slice")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
