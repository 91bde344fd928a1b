"""Loading the classifier from a folder in timm's layout, with both runtimes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from facemask.config import BUNDLED_MODEL_DIR
from facemask.model import MaskClassifier, resolve_model_dir, softmax


def test_bundled_model_loads_from_its_folder_and_predicts_three_probabilities(astronaut):
    classifier = MaskClassifier.from_pretrained(BUNDLED_MODEL_DIR)
    probs = classifier.predict_proba([astronaut, astronaut[:100, :60]])
    assert probs.shape == (2, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_bundled_model_loads_with_plain_timm():
    timm = pytest.importorskip("timm")
    model = timm.create_model(f"local-dir:{BUNDLED_MODEL_DIR}", pretrained=True)
    assert model.num_classes == 3


def test_torch_and_onnx_runtimes_agree(astronaut):
    if not (BUNDLED_MODEL_DIR / "model.onnx").is_file():
        pytest.skip("no model.onnx in the bundled model")
    fast = MaskClassifier.from_pretrained(BUNDLED_MODEL_DIR, runtime="onnx")
    slow = MaskClassifier.from_pretrained(BUNDLED_MODEL_DIR, runtime="torch")
    assert (fast.runtime, slow.runtime) == ("onnx", "torch")
    crops = [astronaut[60:180, 170:280], astronaut]
    assert np.allclose(fast.predict_proba(crops), slow.predict_proba(crops), atol=1e-4)


def test_a_folder_without_config_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        MaskClassifier.from_pretrained(tmp_path)


def test_a_model_with_other_labels_is_refused(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(BUNDLED_MODEL_DIR, folder)
    config = json.loads((folder / "config.json").read_text())
    config["label_names"] = ["cat", "dog", "bird"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="label_names"):
        MaskClassifier.from_pretrained(folder)


@pytest.mark.parametrize("source", ["./no/such/folder", "not-a-repo-id", "a/b/c"])
def test_a_source_that_is_neither_folder_nor_repo_id_is_a_clear_error(source):
    with pytest.raises(FileNotFoundError, match="neither a model folder nor a Hub repo id"):
        resolve_model_dir(source)


def test_softmax_is_stable_for_large_logits():
    probs = softmax(np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32))
    assert np.all(np.isfinite(probs)) and probs[0, 0] == pytest.approx(1.0)


def test_onnx_sessions_run_on_the_threads_asked_for_with_the_same_answer(astronaut, test_data):
    from facemask.config import Settings
    from facemask.model import onnx_threads
    from facemask.pipeline import Pipeline

    if not (BUNDLED_MODEL_DIR / "model.onnx").is_file():
        pytest.skip("no model.onnx in the bundled model")
    default = MaskClassifier.from_pretrained(BUNDLED_MODEL_DIR, runtime="onnx")
    single = MaskClassifier.from_pretrained(BUNDLED_MODEL_DIR, runtime="onnx", threads=1)
    assert default._session.get_session_options().intra_op_num_threads == onnx_threads()
    assert single._session.get_session_options().intra_op_num_threads == 1
    assert np.allclose(default.predict_proba([astronaut]), single.predict_proba([astronaut]), atol=1e-5)

    pipeline = Pipeline(Settings(onnx_threads=1))
    assert pipeline.classifier._session.get_session_options().intra_op_num_threads == 1
    if pipeline.detector.name == "yunet" and pipeline.detector._onnx is not None:
        assert pipeline.detector._onnx._session.get_session_options().intra_op_num_threads == 1
    group = pipeline.load(test_data / "group.jpg")
    assert Pipeline().analyze(group).to_dict()["blurred"] == pipeline.analyze(group).to_dict()["blurred"]
