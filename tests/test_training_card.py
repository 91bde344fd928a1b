"""The model card is written from the metrics: its YAML model-index and its tables carry the numbers."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import ModelCard

from facemask.labels import LABELS
from training.config import TrainConfig
from training.metrics import classification_metrics
from training.model_card import write_model_card
from training.scenes import scene_metrics
from training.slices import face_slices, slice_table


def _metrics() -> dict:
    true = [0, 0, 0, 1, 1, 2, 2, 0]
    pred = [0, 0, 0, 1, 0, 2, 2, 0]
    test = {"all": classification_metrics(true, pred)}
    for key in ("data=real", "data=synthetic", "source=andrewmvd_dev"):
        test[key] = classification_metrics(true, pred)
    rows = [
        {"image": "a.jpg", "label": "with_mask", "face_px": 40.0, "predicted": "with_mask"},
        {"image": "a.jpg", "label": "without_mask", "face_px": 20.0, "predicted": None},
        {"image": "b.jpg", "label": "without_mask", "face_px": 70.0, "predicted": "without_mask"},
    ]
    slices = [face_slices(50, 120, 300, LABELS[y], "dark", False) for y in true]
    return {
        "summary": {
            "test_macro_f1": test["all"]["macro_f1"],
            "test_accuracy": test["all"]["accuracy"],
            "test_unsafe_error_rate": test["all"]["unsafe_error_rate"],
            "andrewmvd_test_macro_f1_ge32px": 0.8765,
            "dataroots_test_accuracy": 0.9531,
        },
        "test": test,
        "slices_test": slice_table(slices, true, pred),
        "scenes": {"andrewmvd_dev/test": scene_metrics(rows, two_class=False, small_px=32)},
        "speed": {"onnx_ms_per_face_batch1": 1.23, "torch_ms_per_face_batch1": 4.56, "input_size": 112},
        "scene_match_iou": 0.3,
        "config": TrainConfig().to_dict(),
        "command": "python -m training all --data-dir ../shared/data",
        "timings_s": {"prepare_s": 100.0},
        "data": {"dedupe": {"exact_duplicate_files_removed": 17}, "split_counts": {"train/chandrikadeb7/with_mask": 5}},
    }


def test_model_card_carries_metrics_license_and_reproduce_command(tmp_path: Path) -> None:
    metrics = _metrics()
    write_model_card(tmp_path, metrics, "confusion_matrix.png", "bias_slices.png")
    card = ModelCard.load(tmp_path / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "timm" and data["pipeline_tag"] == "image-classification"
    assert data["license"] == "cc-by-nc-sa-4.0"
    results = card.data.eval_results
    assert any(r.metric_type == "f1" and r.metric_value == round(metrics["summary"]["test_macro_f1"], 4) for r in results)
    assert any(r.metric_value == 0.9531 for r in results)
    text = card.text
    assert f"{metrics['summary']['test_macro_f1']:.4f}" in text
    assert "python -m training all --data-dir ../shared/data" in text
    assert "![confusion matrix](confusion_matrix.png)" in text and "bias_slices.png" in text
    assert "17 files" in text and "synthetic" in text.lower()
    assert "| face size | 32-63 px | 8 |" in text
    assert "| andrewmvd_dev/test | 2 | 3 | 66.7%" in text


def test_model_card_lists_rwmfd_only_when_it_was_trained_on(tmp_path: Path) -> None:
    metrics = _metrics()
    write_model_card(tmp_path, metrics, "confusion_matrix.png", "bias_slices.png")
    assert "RWMFD" not in ModelCard.load(tmp_path / "README.md").text
    metrics["config"] = TrainConfig(sources=("andrewmvd_dev", "maskedfacenet", "chandrikadeb7", "rwmfd")).to_dict()
    write_model_card(tmp_path, metrics, "confusion_matrix.png", "bias_slices.png")
    text = ModelCard.load(tmp_path / "README.md").text
    assert "Real-World Masked Face Dataset part 1 (`rwmfd`)" in text and "training/reviews/README.md" in text
