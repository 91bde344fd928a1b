"""``facemask.export``: model.onnx is written beside the weights only when it matches PyTorch."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from facemask import export
from facemask.config import BUNDLED_MODEL_DIR
from facemask.model import MaskClassifier


@pytest.fixture()
def model_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(BUNDLED_MODEL_DIR / name, folder / name)
    return folder


def test_export_writes_a_graph_that_matches_pytorch_on_a_photo(model_copy, astronaut):
    path = export.export_onnx(model_copy)
    assert path == model_copy / "model.onnx" and path.is_file()
    assert sorted(p.name for p in model_copy.iterdir()) == ["config.json", "model.onnx", "model.safetensors"]
    fast = MaskClassifier.from_pretrained(model_copy)
    slow = MaskClassifier.from_pretrained(model_copy, runtime="torch")
    assert fast.runtime == "onnx"
    crops = [astronaut, astronaut[50:200, 150:300], astronaut[::3, ::3]]
    np.testing.assert_allclose(fast.predict_proba(crops), slow.predict_proba(crops), atol=1e-4, rtol=0)


def test_a_graph_failing_the_parity_check_leaves_the_previous_file_alone(model_copy, monkeypatch):
    previous = b"previous graph"
    (model_copy / "model.onnx").write_bytes(previous)
    monkeypatch.setattr(export, "MAX_LOGIT_ERROR", -1.0)
    with pytest.raises(RuntimeError, match="differs from PyTorch"):
        export.export_onnx(model_copy)
    assert (model_copy / "model.onnx").read_bytes() == previous
    assert sorted(p.name for p in model_copy.iterdir()) == ["config.json", "model.onnx", "model.safetensors"]
