"""Model soup: several runs' weights averaged into one model folder that every loader reads alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from facemask.config import BUNDLED_MODEL_DIR
from facemask.labels import LABELS
from training.config import TrainConfig
from training.soup import average_state_dicts, soup


def test_floating_tensors_are_averaged_and_batch_counters_kept() -> None:
    import torch

    states = [{"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(5)}, {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(9)}]
    averaged = average_state_dicts(states)
    assert torch.equal(averaged["w"], torch.tensor([2.0, 4.0]))
    assert averaged["n"].item() == 5 and averaged["n"].dtype == torch.int64


def test_ingredients_with_different_tensors_are_refused() -> None:
    import torch

    with pytest.raises(ValueError, match="differ"):
        average_state_dicts([{"a": torch.zeros(1)}, {"b": torch.zeros(1)}])
    with pytest.raises(ValueError, match="at least one"):
        average_state_dicts([])


@pytest.fixture()
def decision_dataset(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """A saved DatasetDict whose validation split holds a few real close-up faces (the decision faces)."""
    import datasets

    from training.prepare import FaceRecord, _to_dataset
    from training.sources import SourceImage

    crops = [astronaut[40:240, 150:350], astronaut[:200, :200], astronaut[200:, 200:], astronaut[100:300, 100:300]]
    records = [
        FaceRecord(crop, LABELS[i % 3], SourceImage(Path(f"c{i}.jpg"), "closeups_dev"), 200.0, "detector", 0.9, f"g{i}", "validation")
        for i, crop in enumerate(crops)
    ]
    folder = tmp_path / "dataset"
    split = _to_dataset(records)
    datasets.DatasetDict({"train": split, "validation": split, "test": split}).save_to_disk(str(folder))
    return folder


def _shifted_copy(tmp_path: Path, delta: float) -> Path:
    """The bundled model with ``delta`` added to every classifier weight."""
    from safetensors.torch import load_file, save_file

    folder = tmp_path / f"shifted{delta}"
    shutil.copytree(BUNDLED_MODEL_DIR, folder)
    state = load_file(str(folder / "model.safetensors"))
    state["classifier.weight"] = state["classifier.weight"] + delta
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def test_soup_averages_the_runs_and_folds_a_new_rule_every_loader_reads(tmp_path: Path, decision_dataset: Path) -> None:
    import timm
    import torch
    from safetensors.torch import load_file

    from facemask.model import MaskClassifier

    a, b = _shifted_copy(tmp_path, 0.0), _shifted_copy(tmp_path, 0.2)
    out = tmp_path / "soup"
    summary = soup([a, b], decision_dataset, out, TrainConfig(input_size=112, calib_cv_min_incorrect=0))
    assert set(summary["soup"]["ingredient_selection_scores"]) == {str(a), str(b)}
    assert summary["calibration"]["folded"] and "logit_bias" not in json.loads((out / "config.json").read_text())
    mixed, first = load_file(str(out / "model.safetensors")), load_file(str(a / "model.safetensors"))
    torch.testing.assert_close(mixed["classifier.weight"], first["classifier.weight"] + 0.1)
    torch.testing.assert_close(mixed["conv_stem.weight"], first["conv_stem.weight"])
    # the rule moved only the classifier's bias, by the offsets it reports
    offsets = torch.tensor(summary["calibration"]["logit_bias"], dtype=torch.float32)
    torch.testing.assert_close(mixed["classifier.bias"], first["classifier.bias"] + offsets)
    crop = np.full((112, 112, 3), 120, dtype=np.uint8)
    probs = {runtime: MaskClassifier.from_pretrained(out, runtime).predict_proba([crop]) for runtime in ("onnx", "torch")}
    np.testing.assert_allclose(probs["onnx"], probs["torch"], atol=1e-4)
    model = timm.create_model(f"local-dir:{out}", pretrained=True).eval()
    assert model.num_classes == len(LABELS)


def test_a_soup_refuses_mixed_input_sizes_and_overwriting_an_ingredient(tmp_path: Path, decision_dataset: Path) -> None:
    a = _shifted_copy(tmp_path, 0.0)
    with pytest.raises(ValueError, match="input size"):
        soup([a, a], decision_dataset, tmp_path / "soup", TrainConfig(input_size=96))
    with pytest.raises(ValueError, match="overwrite"):
        soup([a, BUNDLED_MODEL_DIR], decision_dataset, a, TrainConfig(input_size=112, calib_cv_min_incorrect=0))


def test_the_soup_command_needs_two_ingredients(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.cli import main

    assert main(["soup", "--ingredients", str(BUNDLED_MODEL_DIR), "--out", str(tmp_path / "soup")]) == 2
    assert "two or more" in capsys.readouterr().err
