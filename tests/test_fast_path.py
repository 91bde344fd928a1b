"""The fast path (ONNX Runtime) gives PyTorch's probabilities, falls back cleanly, and keeps torch out."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facemask import Pipeline, Settings
from facemask.config import BUNDLED_MODEL_DIR, REPO_DIR
from facemask.io import load_image
from facemask.model import MaskClassifier
from facemask.preprocess import Preprocess, crop_face

PARITY_ATOL = 1e-4


@pytest.fixture(scope="module")
def runtimes() -> tuple[MaskClassifier, MaskClassifier]:
    if not (BUNDLED_MODEL_DIR / "model.onnx").is_file():
        pytest.skip("the bundled model has no model.onnx")
    fast = MaskClassifier.from_pretrained(BUNDLED_MODEL_DIR, runtime="onnx")
    slow = MaskClassifier.from_pretrained(BUNDLED_MODEL_DIR, runtime="torch")
    return fast, slow


def _face_crops(paths: list[Path], pipeline: Pipeline) -> list[np.ndarray]:
    """Every detected face of ``paths``, cropped as the pipeline crops it, plus each whole image."""
    crops = []
    for path in paths:
        image = load_image(path)
        crops.append(image)
        crops += [crop_face(image, face.box, pipeline.settings.crop_margin) for face in pipeline.detector.detect(image)]
    return crops


def _assert_parity(fast: MaskClassifier, slow: MaskClassifier, crops: list[np.ndarray]) -> None:
    assert len(crops) > 0
    for batch in (crops[:1], crops[:8], crops):  # batch 1, batch 8 and everything at once
        fast_probs, slow_probs = fast.predict_proba(batch), slow.predict_proba(batch)
        assert fast_probs.shape == slow_probs.shape == (len(batch), 3)
        np.testing.assert_allclose(fast_probs, slow_probs, atol=PARITY_ATOL, rtol=0)


def test_onnx_probabilities_equal_pytorch_on_the_repo_photos(runtimes, pipeline, test_data):
    fast, slow = runtimes
    crops = _face_crops(sorted(test_data.glob("*.jpg")), pipeline)
    assert len(crops) >= 10  # the photos' faces, not just the whole images
    _assert_parity(fast, slow, crops)


def test_onnx_probabilities_equal_pytorch_on_shared_real_photos(runtimes, pipeline, shared_data):
    fast, slow = runtimes
    paths = []
    for folder in ("dataroots_scenes/images", "andrewmvd_dev/images", "chandrikadeb7/with_mask"):
        paths += sorted((shared_data / folder).glob("*.jpg"))[:4]
    if not paths:
        pytest.skip("no photos found under ../shared/data")
    _assert_parity(fast, slow, _face_crops(paths, pipeline))


def test_normalisation_matches_its_definition():
    pre = Preprocess(size=32, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    pixels = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    expected = (pixels / 255.0 - np.array(pre.mean)) / np.array(pre.std)
    got = pre.normalize(pixels)
    assert got.dtype == np.float32 and got.shape == (3, 3, 32, 32) and got.flags.c_contiguous
    np.testing.assert_allclose(got, expected.transpose(0, 3, 1, 2), atol=1e-5)
    np.testing.assert_allclose(pre.normalize(pixels[0]), expected[0].transpose(2, 0, 1), atol=1e-5)


def _copy_with_corrupt_graph(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(BUNDLED_MODEL_DIR / name, folder / name)
    (folder / "model.onnx").write_bytes(b"this is not an ONNX graph" * 100)
    return folder


def test_a_corrupt_graph_falls_back_to_pytorch_with_a_logged_warning(tmp_path, caplog, astronaut):
    folder = _copy_with_corrupt_graph(tmp_path)
    with caplog.at_level(logging.WARNING, logger="facemask.model"):
        classifier = MaskClassifier.from_pretrained(folder)
    assert classifier.runtime == "torch"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "facemask.model"]
    assert any("falling back to PyTorch" in r.getMessage() for r in warnings)
    probs = classifier.predict_proba([astronaut])
    assert probs.shape == (1, 3) and np.isclose(probs.sum(), 1.0, atol=1e-5)


def test_a_corrupt_graph_is_an_error_when_onnx_is_required(tmp_path):
    folder = _copy_with_corrupt_graph(tmp_path)
    with pytest.raises(Exception, match="(?i)protobuf|invalid|load|parse"):
        MaskClassifier.from_pretrained(folder, runtime="onnx")


def test_the_onnx_path_never_imports_torch_or_timm():
    if not (BUNDLED_MODEL_DIR / "model.onnx").is_file():
        pytest.skip("the bundled model has no model.onnx")
    script = (
        "import json, sys\n"
        "from facemask import Pipeline, Settings\n"
        "pipeline = Pipeline(Settings(runtime='onnx'))\n"
        f"annotated, result = pipeline({str(REPO_DIR / 'tests' / 'data' / 'group.jpg')!r})\n"
        "print(json.dumps({'runtime': result.runtime, 'faces': len(result.faces),\n"
        "                  'loaded': sorted(m for m in ('torch', 'timm', 'torchvision') if m in sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_DIR, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["runtime"] == "onnx"
    assert report["faces"] > 0
    assert report["loaded"] == []


def test_the_pipeline_classifies_all_faces_of_a_frame_in_one_batch(pipeline, test_data, monkeypatch):
    image = load_image(test_data / "group.jpg")
    batches: list[int] = []
    original = pipeline.classifier.logits
    monkeypatch.setattr(pipeline.classifier, "logits", lambda batch: batches.append(len(batch)) or original(batch))
    result = pipeline.analyze(image)
    assert len(result.faces) >= 2
    assert batches == [len(result.faces)]


def _yunet_path() -> Path:
    path = Path(Settings().yunet_path)
    if not path.is_file():
        pytest.skip(f"YuNet weights not found at {path}")
    return path


def test_yunet_on_onnx_runtime_finds_the_same_faces_as_opencv(test_data):
    import cv2

    from facemask.detect import YuNetDetector

    detector = YuNetDetector(_yunet_path(), Settings().replace(detection_threshold=0.45))
    assert detector.engine == "onnxruntime"
    reference = cv2.FaceDetectorYN.create(detector.model_path, "", (320, 320), 0.45, 0.3, 5000)
    paths = sorted(test_data.glob("*.jpg"))
    shared = REPO_DIR.parent / "shared" / "data" / "dataroots_scenes" / "images"
    paths += sorted(shared.glob("*.jpg"))[:12]
    total = 0
    for path in paths:
        bgr = cv2.cvtColor(load_image(path), cv2.COLOR_RGB2BGR)
        reference.setInputSize((bgr.shape[1], bgr.shape[0]))
        expected = reference.detect(bgr)[1]
        expected = np.zeros((0, 15), np.float32) if expected is None else expected
        got = detector._onnx.detect(bgr)
        assert got.shape == expected.shape, path.name
        np.testing.assert_allclose(got, expected, atol=0.01, rtol=0)  # pixels and scores
        total += len(got)
    assert total >= 8


def test_yunet_falls_back_to_opencv_when_onnx_runtime_cannot_run_it(monkeypatch, caplog, astronaut):
    from facemask import yunet_onnx
    from facemask.detect import YuNetDetector

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no graph")

    monkeypatch.setattr(yunet_onnx, "YuNetOnnx", broken)
    with caplog.at_level(logging.WARNING, logger="facemask.detect"):
        detector = YuNetDetector(_yunet_path(), Settings())
    assert detector.engine == "opencv"
    assert any("using OpenCV's engine" in r.getMessage() for r in caplog.records)
    assert len(detector.detect(astronaut)) == 1
