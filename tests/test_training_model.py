"""The committed default model folder loads with plain timm and with MaskClassifier; ONNX agrees with torch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facemask.config import BUNDLED_MODEL_DIR
from facemask.labels import LABELS
from facemask.model import MaskClassifier


def test_model_folder_loads_with_plain_timm_and_keeps_labels_and_input_size() -> None:
    import timm
    import torch

    config = json.loads((BUNDLED_MODEL_DIR / "config.json").read_text())
    assert config["label_names"] == list(LABELS)
    assert config["pretrained_cfg"]["tag"] == "facemask"
    size = config["pretrained_cfg"]["input_size"][1]
    model = timm.create_model(f"local-dir:{BUNDLED_MODEL_DIR}", pretrained=True).eval()
    assert model.num_classes == len(LABELS)
    with torch.inference_mode():
        assert model(torch.zeros(1, 3, size, size)).shape == (1, len(LABELS))


def test_onnx_and_torch_runtimes_agree_on_face_crops(astronaut: np.ndarray) -> None:
    fast = MaskClassifier.from_pretrained(BUNDLED_MODEL_DIR, "onnx")
    slow = MaskClassifier.from_pretrained(BUNDLED_MODEL_DIR, "torch")
    rng = np.random.default_rng(0)
    crops = [astronaut[40:240, 150:350], astronaut, rng.integers(0, 255, (37, 37, 3), dtype=np.uint8)]
    assert fast.runtime == "onnx" and slow.runtime == "torch"
    np.testing.assert_allclose(fast.predict_proba(crops), slow.predict_proba(crops), atol=1e-4)


def test_model_folder_ships_its_card_metrics_and_plots() -> None:
    for name in ("README.md", "metrics.json", "confusion_matrix.png", "bias_slices.png", "model.onnx"):
        assert (BUNDLED_MODEL_DIR / name).is_file(), name
    metrics = json.loads((BUNDLED_MODEL_DIR / "metrics.json").read_text())
    assert metrics["summary"]["test_macro_f1"] == pytest.approx(metrics["test"]["all"]["macro_f1"])
    assert "python -m training" in (BUNDLED_MODEL_DIR / "README.md").read_text()


def test_calibrated_logit_bias_in_config_shifts_both_runtimes_alike(tmp_path, astronaut: np.ndarray) -> None:
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL_DIR, folder)
    config = json.loads((folder / "config.json").read_text())
    config["logit_bias"] = [0.0, 4.0, 0.0]
    (folder / "config.json").write_text(json.dumps(config))
    crop = [astronaut[40:240, 150:350]]
    classifiers = {rt: MaskClassifier.from_pretrained(folder, rt) for rt in ("onnx", "torch")}
    biased = {rt: c.predict_proba(crop) for rt, c in classifiers.items()}
    np.testing.assert_allclose(biased["onnx"], biased["torch"], atol=1e-4)
    raw = classifiers["torch"].logits(classifiers["torch"].preprocess(crop))
    expected = np.exp(raw + np.array(config["logit_bias"]))
    np.testing.assert_allclose(biased["onnx"], expected / expected.sum(axis=1, keepdims=True), atol=1e-4)
