"""The decision rule, learnt from real photos only, then folded into the weights.

Per-class logit offsets are chosen on the *decision faces*: the validation faces of real photos
(``closeups_dev``, ``andrewmvd_dev``; see :data:`training.sources.REAL_PHOTO_SOURCES`) and dataroots'
validation faces as the pipeline crops them (two classes: masked or not). Synthetic faces never take
part. When those faces hold fewer than ``calib_cv_min_incorrect`` real ``incorrect_mask`` faces, the
offsets are chosen by cross-validation over scene / near-duplicate groups: each fold's offsets are
chosen on the other folds, the rule is their median, and it is kept only if it beats "no offset" on the
held-out folds. :func:`facemask.model.fold_logit_bias` then adds the offsets to the classifier's bias
(``model.safetensors`` and ``model.onnx``), so timm, transformers and ``facemask`` decide alike.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from facemask.labels import LABELS
from facemask.model import MaskClassifier, fold_logit_bias, read_config

GRID = np.round(np.arange(-2.0, 2.01, 0.25), 2)
WITH, WITHOUT, INCORRECT = (LABELS.index(n) for n in ("with_mask", "without_mask", "incorrect_mask"))


@dataclass
class DecisionFaces:
    """Real validation faces the rule is chosen on: logits, labels, duplicate/scene groups, and which are two-class.

    ``two_class`` faces (dataroots) only say masked or not: they count through their masked/not-masked
    accuracy and the unsafe error, never through the three-class macro-F1.
    """

    logits: np.ndarray
    labels: np.ndarray
    groups: list[str]
    two_class: np.ndarray

    def subset(self, index: np.ndarray) -> "DecisionFaces":
        return DecisionFaces(self.logits[index], self.labels[index], [self.groups[i] for i in index], self.two_class[index])

    @property
    def real_incorrect(self) -> int:
        return int(np.sum((self.labels == INCORRECT) & ~self.two_class))


def macro_f1(true: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the classes present in ``true`` (as ``metrics/facemask_metrics`` computes it)."""
    k = len(LABELS)
    confusion = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
    support, predicted, correct = confusion.sum(axis=1), confusion.sum(axis=0), np.diag(confusion)
    present = support > 0
    if not present.any():
        return 0.0
    f1 = np.divide(2.0 * correct, support + predicted, out=np.zeros(k), where=(support + predicted) > 0)
    return float(f1[present].mean())


def rule_report(faces: DecisionFaces, bias: Sequence[float]) -> dict[str, Any]:
    """What the rule ``argmax(logits + bias)`` does on the decision faces (the parts of :func:`rule_score`)."""
    pred = (faces.logits + np.asarray(bias, dtype=np.float32)).argmax(axis=1)
    three = ~faces.two_class
    bare = faces.labels == WITHOUT
    two = faces.two_class
    incorrect = three & (faces.labels == INCORRECT)
    return {
        "n": int(len(pred)),
        "macro_f1": macro_f1(faces.labels[three], pred[three]) if three.any() else 0.0,
        "incorrect_recall": float(np.mean(pred[incorrect] == INCORRECT)) if incorrect.any() else 0.0,
        "two_class_accuracy": float(np.mean((pred[two] == WITH) == (faces.labels[two] == WITH))) if two.any() else None,
        "unsafe_error_rate": float(np.mean(pred[bare] == WITH)) if bare.any() else 0.0,
    }


def rule_score(faces: DecisionFaces, bias: Sequence[float], unsafe_weight: float, two_class_share: float) -> float:
    """Three-class macro-F1, blended with the two-class accuracy (``two_class_share``), minus ``unsafe_weight`` x unsafe error."""
    r = rule_report(faces, bias)
    score = r["macro_f1"]
    if r["two_class_accuracy"] is not None and faces.two_class.any() and (~faces.two_class).any():
        score = (1 - two_class_share) * score + two_class_share * r["two_class_accuracy"]
    elif r["two_class_accuracy"] is not None:
        score = r["two_class_accuracy"]
    return score - unsafe_weight * r["unsafe_error_rate"]


def candidate_biases() -> list[np.ndarray]:
    """Offsets for ``with_mask`` and ``incorrect_mask`` (``without_mask`` fixed at 0), smallest first (ties go to them)."""
    biases = []
    for b_with, b_incorrect in itertools.product(GRID, GRID):
        bias = np.zeros(len(LABELS), dtype=np.float32)
        bias[WITH], bias[INCORRECT] = b_with, b_incorrect
        biases.append(bias)
    return sorted(biases, key=lambda b: (float(np.abs(b).sum()), tuple(b)))


def best_bias(faces: DecisionFaces, unsafe_weight: float, two_class_share: float) -> tuple[np.ndarray, float]:
    """The grid offsets that score best on ``faces`` (the smallest among equals) and their score."""
    best, best_score = np.zeros(len(LABELS), dtype=np.float32), -np.inf
    for bias in candidate_biases():
        score = rule_score(faces, bias, unsafe_weight, two_class_share)
        if score > best_score + 1e-9:
            best, best_score = bias, score
    return best, float(best_score)


def group_folds(faces: DecisionFaces, folds: int, seed: int) -> list[np.ndarray]:
    """``folds`` index arrays; a group never spans two, groups holding real ``incorrect_mask`` faces are dealt out first."""
    members: dict[str, list[int]] = {}
    for i, g in enumerate(faces.groups):
        members.setdefault(g, []).append(i)
    keys = sorted(members)
    random.Random(seed).shuffle(keys)
    rare = {g for g in keys if any(faces.labels[i] == INCORRECT and not faces.two_class[i] for i in members[g])}
    keys.sort(key=lambda g: g not in rare)  # stable: the shuffled order within each part is kept
    out: list[list[int]] = [[] for _ in range(folds)]
    for n, g in enumerate(keys):
        out[n % folds].extend(members[g])
    return [np.array(sorted(f), dtype=np.int64) for f in out if f]


def cross_validated_bias(
    faces: DecisionFaces, unsafe_weight: float, two_class_share: float, folds: int, seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Offsets chosen by group cross-validation: the median of the per-fold choices, if it beats no offset held out."""
    parts = group_folds(faces, folds, seed)
    everything = np.arange(len(faces.labels))
    chosen, held_out_chosen, held_out_zero = [], [], []
    zero = np.zeros(len(LABELS), dtype=np.float32)
    for part in parts:
        rest = np.setdiff1d(everything, part)
        bias, _ = best_bias(faces.subset(rest), unsafe_weight, two_class_share)
        chosen.append(bias)
        held = faces.subset(part)
        held_out_chosen.append(rule_score(held, bias, unsafe_weight, two_class_share))
        held_out_zero.append(rule_score(held, zero, unsafe_weight, two_class_share))
    median = np.median(np.stack(chosen), axis=0).astype(np.float32)
    keep = float(np.mean(held_out_chosen)) > float(np.mean(held_out_zero))
    report = {
        "folds": len(parts),
        "fold_biases": [[float(v) for v in b] for b in chosen],
        "held_out_score_chosen": float(np.mean(held_out_chosen)),
        "held_out_score_no_offset": float(np.mean(held_out_zero)),
        "kept": keep,
    }
    return (median if keep else zero), report


def choose_rule(
    faces: DecisionFaces, unsafe_weight: float, two_class_share: float, cv_min_incorrect: int, folds: int, seed: int
) -> tuple[list[float], dict[str, Any]]:
    """The offsets and a report: chosen on all decision faces, or by cross-validation when real incorrect faces are few."""
    zero = np.zeros(len(LABELS), dtype=np.float32)
    if faces.real_incorrect < cv_min_incorrect:
        bias, cv = cross_validated_bias(faces, unsafe_weight, two_class_share, folds, seed)
        method = f"{cv['folds']}-fold cross-validation over scene / duplicate groups"
    else:
        bias, _ = best_bias(faces, unsafe_weight, two_class_share)
        cv, method = None, "all decision faces"
    report = {
        "method": method,
        "real_incorrect_faces": faces.real_incorrect,
        "decision_faces": int(len(faces.labels)),
        "two_class_faces": int(faces.two_class.sum()),
        "before": rule_report(faces, zero),
        "after": rule_report(faces, bias),
        "cross_validation": cv,
    }
    return [float(v) for v in bias], report


def calibrate(
    model_dir: Path,
    crops: list[np.ndarray],
    labels: np.ndarray,
    groups: list[str],
    two_class: np.ndarray,
    unsafe_weight: float,
    two_class_share: float,
    cv_min_incorrect: int,
    folds: int,
    seed: int,
) -> dict[str, Any]:
    """Choose the offsets on the real decision faces and fold them into ``model_dir``'s weights."""
    classifier = MaskClassifier(model_dir, read_config(model_dir), runtime="onnx")
    logits = classifier.logits(classifier.preprocess(crops))
    faces = DecisionFaces(logits, np.asarray(labels, dtype=np.int64), list(groups), np.asarray(two_class, dtype=bool))
    bias, report = choose_rule(faces, unsafe_weight, two_class_share, cv_min_incorrect, folds, seed)
    fold_logit_bias(model_dir, bias)
    return {"logit_bias": bias, "folded": True, "unsafe_weight": unsafe_weight, "two_class_share": two_class_share, **report}
