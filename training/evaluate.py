"""``evaluate``: test-split metrics, bias slices, whole-pipeline scene metrics, speed; metrics.json + card."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from facemask import MaskClassifier, Pipeline, Settings
from facemask.labels import LABELS

from .config import TrainConfig
from .metrics import classification_metrics
from .model_card import write_model_card
from .plots import plot_confusion, plot_slices
from .scenes import main_face_metrics, run_main_faces, run_scenes, scene_metrics
from .slices import face_slices, mask_colour, slice_table
from .sources import andrewmvd, closeups, dataroots
from .train import load_split

log = logging.getLogger(__name__)

CONFUSION_PNG = "confusion_matrix.png"
SLICES_PNG = "bias_slices.png"


def classify_speed_ms(classifier: MaskClassifier, crop: np.ndarray, runs: int = 200) -> float:
    """Median milliseconds of ``predict_proba`` on one face (batch 1), after a warm-up."""
    for _ in range(10):
        classifier.predict_proba([crop])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        classifier.predict_proba([crop])
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def split_metrics(classifier: MaskClassifier, data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Metrics of one split's crops (as :func:`load_split` returns them), by source and real/synthetic, and the bias slice table."""
    pred = classifier.predict_proba(data["crops"]).argmax(axis=1)
    true = data["labels"]
    table = data["table"]
    synthetic = np.asarray(table["synthetic"])
    result = {"all": classification_metrics(true, pred)}
    for source in sorted(set(data["sources"])):
        mask = np.array([s == source for s in data["sources"]])
        result[f"source={source}"] = classification_metrics(true[mask], pred[mask])
    for name, mask in (("real", ~synthetic), ("synthetic", synthetic)):
        result[f"data={name}"] = classification_metrics(true[mask], pred[mask])
    large = np.asarray(table["face_px"]) >= SMALL_FACE_PX
    andrewmvd_large = np.array([s == "andrewmvd_dev" for s in data["sources"]], dtype=bool) & large
    result[f"source=andrewmvd_dev,face_px>={SMALL_FACE_PX}"] = classification_metrics(true[andrewmvd_large], pred[andrewmvd_large])
    slices = [
        face_slices(px, luma, lap, LABELS[y], mask_colour(crop), syn)
        for px, luma, lap, y, crop, syn in zip(table["face_px"], table["brightness"], table["sharpness"], true, data["crops"], synthetic)
    ]
    return result, slice_table(slices, true, pred)


SMALL_FACE_PX = 32
"""Crops of andrewmvd faces at least this large are reported apart (the target's slice)."""


def scene_split(dataset_dir: Path, split: str, source: str = "andrewmvd_dev") -> set[str]:
    """File names of a source's photos (andrewmvd_dev scenes, closeups_dev photos) in a split of the prepared data."""
    import datasets

    table = datasets.load_from_disk(str(dataset_dir))[split]
    return {f for f, s in zip(table["file"], table["source"]) if s == source}


def evaluate(
    dataset_dir: Path,
    model_dir: Path,
    data_dir: Path,
    config: TrainConfig,
    command: str,
    timings: dict[str, float],
    train_summary: Path | None = None,
) -> dict[str, Any]:
    """Evaluate the model in ``model_dir``; write ``metrics.json``, the plots and the model card there."""
    settings = Settings(model=str(model_dir))
    classifier = MaskClassifier.from_pretrained(model_dir, "onnx")
    test_set = load_split(dataset_dir, "test")
    test, slices = split_metrics(classifier, test_set)
    validation, _ = split_metrics(classifier, load_split(dataset_dir, "validation"))
    pipeline = Pipeline(settings, classifier=classifier)
    scenes: dict[str, Any] = {}
    if data_dir.is_dir():
        all_andrewmvd = andrewmvd(data_dir)
        for split in ("validation", "test"):
            names = scene_split(dataset_dir, split)
            rows = run_scenes(pipeline, [s for s in all_andrewmvd if s.path.name in names], config.scene_match_iou)
            scenes[f"andrewmvd_dev/{split}"] = scene_metrics(rows, two_class=False, small_px=config.small_face_px)
        if (data_dir / "closeups_dev").is_dir():
            all_closeups = closeups(data_dir)
            for split in ("validation", "test"):
                names = scene_split(dataset_dir, split, "closeups_dev")
                rows = run_main_faces(pipeline, [s for s in all_closeups if s.path.name in names])
                scenes[f"closeups_dev/{split}"] = main_face_metrics(rows)
        all_dataroots = dataroots(data_dir)
        for split in ("validation", "test"):
            rows = run_scenes(pipeline, [s for s in all_dataroots if s.split == split], config.scene_match_iou)
            scenes[f"dataroots_scenes/{split}"] = scene_metrics(rows, two_class=True, small_px=config.small_face_px)
    else:
        log.warning("%s not found: scene evaluation skipped", data_dir)
    crop = test_set["crops"][0]
    speed = {
        "onnx_ms_per_face_batch1": classify_speed_ms(classifier, crop),
        "torch_ms_per_face_batch1": classify_speed_ms(MaskClassifier.from_pretrained(model_dir, "torch"), crop, runs=50),
        "input_size": classifier.preprocess.size,
    }
    summary = _summary(test, scenes, speed, config)
    metrics = {
        "summary": summary,
        "test": test,
        "validation": validation,
        "slices_test": slices,
        "scenes": scenes,
        "speed": speed,
        "scene_match_iou": config.scene_match_iou,
        "config": config.to_dict(),
        "command": command,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "metrics_library": "evaluate: metrics/facemask_metrics (loaded from the repository, offline)",
    }
    prepare_report = dataset_dir / "prepare_report.json"
    if prepare_report.is_file():
        metrics["data"] = json.loads(prepare_report.read_text())
    if train_summary is not None and train_summary.is_file():
        metrics["training"] = json.loads(train_summary.read_text())
    plot_confusion(np.array(test["all"]["confusion_matrix"]), model_dir / CONFUSION_PNG)
    plot_slices(slices, model_dir / SLICES_PNG)
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    write_model_card(model_dir, metrics, CONFUSION_PNG, SLICES_PNG)
    return metrics


def _summary(test: dict[str, Any], scenes: dict[str, Any], speed: dict[str, Any], config: TrainConfig) -> dict[str, Any]:
    """The headline numbers, next to the issue's targets."""
    px = config.small_face_px
    out: dict[str, Any] = {
        "test_macro_f1": test["all"]["macro_f1"],
        "test_accuracy": test["all"]["accuracy"],
        "test_unsafe_error_rate": test["all"]["unsafe_error_rate"],
        "onnx_ms_per_face": speed["onnx_ms_per_face_batch1"],
    }
    crops = test.get(f"source=andrewmvd_dev,face_px>={SMALL_FACE_PX}")
    if crops and crops["n"]:
        out[f"andrewmvd_test_crops_macro_f1_ge{SMALL_FACE_PX}px"] = crops["macro_f1"]
        out[f"andrewmvd_test_crops_incorrect_recall_ge{SMALL_FACE_PX}px"] = crops["per_class"]["incorrect_mask"]["recall"]
    if "closeups_dev/test" in scenes:
        c = scenes["closeups_dev/test"]
        out["closeups_test_macro_f1"] = c["macro_f1"]
        out["closeups_test_incorrect_recall"] = c["incorrect_recall"]
        out["closeups_test_unsafe"] = c["unsafe_error_rate"]
        out["closeups_test_no_face_rate"] = c["no_face_rate"]
    if "andrewmvd_dev/test" in scenes:
        a = scenes["andrewmvd_dev/test"]
        out[f"andrewmvd_test_macro_f1_ge{px}px"] = a[f"faces_ge{px}px"]["macro_f1"]
        out[f"andrewmvd_test_unsafe_ge{px}px"] = a[f"faces_ge{px}px"]["unsafe_error_rate"]
        out["andrewmvd_test_macro_f1_all"] = a["faces"]["macro_f1"]
        out["andrewmvd_test_detector_recall"] = a["detector"]["recall"]
    if "dataroots_scenes/test" in scenes:
        d = scenes["dataroots_scenes/test"]
        out["dataroots_test_accuracy"] = d["faces"]["accuracy"]
        out["dataroots_test_unsafe"] = d["faces"]["unsafe_error_rate"]
        out["dataroots_test_detector_recall"] = d["detector"]["recall"]
    return out
