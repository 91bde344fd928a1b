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


def test_folding_a_logit_offset_into_the_weights_shifts_every_loader_alike(tmp_path, astronaut: np.ndarray) -> None:
    import shutil

    import timm
    import torch
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    from facemask.model import fold_logit_bias

    folder = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL_DIR, folder)
    crop = [astronaut[40:240, 150:350]]
    before = MaskClassifier.from_pretrained(folder, "torch")
    raw = before.logits(before.preprocess(crop))
    offsets = np.array([0.0, 4.0, -1.0], dtype=np.float32)
    fold_logit_bias(folder, offsets)
    config = json.loads((folder / "config.json").read_text())
    assert "logit_bias" not in config and "model_args" not in config
    expected = np.exp(raw + offsets)
    expected /= expected.sum(axis=1, keepdims=True)
    for runtime in ("onnx", "torch"):
        np.testing.assert_allclose(MaskClassifier.from_pretrained(folder, runtime).predict_proba(crop), expected, atol=1e-4)
    model = timm.create_model(f"local-dir:{folder}", pretrained=True).eval()
    transform = create_transform(**resolve_data_config({}, model=model), is_training=False)
    with torch.inference_mode():
        plain = torch.softmax(model(transform(Image.fromarray(crop[0])).unsqueeze(0)), dim=1).numpy()
    np.testing.assert_allclose(plain, expected, atol=1e-4)


def test_a_folder_with_a_side_logit_bias_is_refused_with_how_to_fold_it(tmp_path) -> None:
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL_DIR, folder)
    config = json.loads((folder / "config.json").read_text())
    config["logit_bias"] = [0.0, 1.0, 0.0]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="fold_logit_bias"):
        MaskClassifier.from_pretrained(folder, "torch")


def test_committed_model_has_its_decision_rule_in_the_weights_only() -> None:
    config = json.loads((BUNDLED_MODEL_DIR / "config.json").read_text())
    assert "logit_bias" not in config
    assert "model_args" not in config  # transformers' timm wrapper passes num_classes itself
