"""Whole-pipeline evaluation on annotated real scenes, through :class:`facemask.Pipeline` (what the app runs)."""

from __future__ import annotations

from typing import Any, Sequence

from tqdm import tqdm

from facemask import Pipeline
from facemask.labels import LABELS

from .faces import main_face, match_boxes
from .metrics import classification_metrics, wilson_interval
from .slices import SIZE_BINS, size_bin
from .sources import SourceImage


def run_scenes(pipeline: Pipeline, images: Sequence[SourceImage], min_iou: float) -> list[dict[str, Any]]:
    """One row per annotated face: its label, size, and the pipeline's label (``None`` when not detected)."""
    rows = []
    for src in tqdm(images, desc=f"pipeline {images[0].source if images else ''}", unit="img"):
        image = pipeline.load(src.path)
        result = pipeline.analyze(image, blur=False)
        match = match_boxes([a.box for a in src.faces], [f.box for f in result.faces], min_iou)
        for ann, j in zip(src.faces, match):
            rows.append(
                {
                    "image": src.path.name,
                    "label": ann.label,
                    "face_px": float(max(ann.box[2], ann.box[3])),
                    "predicted": None if j is None else result.faces[j].label,
                }
            )
    return rows


def _recall(rows: list[dict[str, Any]]) -> dict[str, Any]:
    found = sum(r["predicted"] is not None for r in rows)
    return {"n": len(rows), "detected": found, "recall": found / len(rows) if rows else 0.0, "recall_ci95": wilson_interval(found, len(rows))}


def scene_metrics(rows: list[dict[str, Any]], two_class: bool, small_px: int) -> dict[str, Any]:
    """Detector recall and per-face metrics (detected faces), overall, for faces >= ``small_px`` and by size."""
    def per_face(subset: list[dict[str, Any]]) -> dict[str, Any]:
        found = [r for r in subset if r["predicted"] is not None]
        if two_class:  # with_mask vs the rest, as 0 / 1
            true = [0 if r["label"] == "with_mask" else 1 for r in found]
            pred = [0 if r["predicted"] == "with_mask" else 1 for r in found]
            m = classification_metrics(true, pred, labels=("with_mask", "not_with_mask"))
            bare = [r for r in found if r["label"] == "without_mask"]
            unsafe = sum(r["predicted"] == "with_mask" for r in bare)
            m.update(unsafe_errors=unsafe, unsafe_error_rate=unsafe / len(bare) if bare else 0.0, unsafe_error_ci95=wilson_interval(unsafe, len(bare)))
            return m
        return classification_metrics([LABELS.index(r["label"]) for r in found], [LABELS.index(r["predicted"]) for r in found])

    large = [r for r in rows if r["face_px"] >= small_px]
    by_size = {}
    for _, _, name in SIZE_BINS:
        subset = [r for r in rows if size_bin(r["face_px"]) == name]
        if subset:
            found = [r for r in subset if r["predicted"] is not None]
            correct = sum(_same(r, two_class) for r in found)
            by_size[name] = {**_recall(subset), "accuracy": correct / len(found) if found else None, "accuracy_ci95": wilson_interval(correct, len(found))}
    return {
        "images": len({r["image"] for r in rows}),
        "detector": _recall(rows),
        f"detector_ge{small_px}px": _recall(large),
        "faces": per_face(rows),
        f"faces_ge{small_px}px": per_face(large),
        "by_size": by_size,
    }


def _same(row: dict[str, Any], two_class: bool) -> bool:
    if two_class:
        return (row["label"] == "with_mask") == (row["predicted"] == "with_mask")
    return bool(row["label"] == row["predicted"])



NO_FACE = "no_face"


def run_main_faces(pipeline: Pipeline, images: Sequence[SourceImage]) -> list[dict[str, Any]]:
    """One row per photo labelled by its main person: the pipeline's label of its main face (``None``: no face shown)."""
    rows = []
    for src in tqdm(images, desc=f"pipeline {images[0].source if images else ''}", unit="img"):
        image = pipeline.load(src.path)
        result = pipeline.analyze(image, blur=False)
        face = main_face(result.faces, image.shape[1], image.shape[0])
        rows.append({"image": src.path.name, "label": src.label, "predicted": None if face is None else face.label, "faces": len(result.faces)})
    return rows


def main_face_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-photo metrics where "no face found" counts as a miss of the photo's class (a fourth, never-true answer).

    Macro-F1 averages the three classes only; the unsafe error is bare faces called ``with_mask`` over all bare
    photos. Also the no-face-found rate, overall and per class, and the metrics of the photos where a face was found.
    """
    names = (*LABELS, NO_FACE)
    true = [LABELS.index(r["label"]) for r in rows]
    pred = [names.index(r["predicted"] or NO_FACE) for r in rows]
    m = classification_metrics(true, pred, labels=names)
    m["per_class"].pop(NO_FACE, None)
    missing = sum(r["predicted"] is None for r in rows)
    found = [r for r in rows if r["predicted"] is not None]
    per_class_missing = {lab: sum(r["predicted"] is None for r in rows if r["label"] == lab) for lab in LABELS}
    return {
        **m,
        "images": len(rows),
        "no_face": missing,
        "no_face_rate": missing / len(rows) if rows else 0.0,
        "no_face_ci95": wilson_interval(missing, len(rows)),
        "no_face_by_class": per_class_missing,
        "incorrect_recall": m["per_class"]["incorrect_mask"]["recall"],
        "found": classification_metrics([LABELS.index(r["label"]) for r in found], [LABELS.index(r["predicted"]) for r in found]),
    }
