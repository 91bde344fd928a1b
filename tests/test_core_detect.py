"""Face detection: both back-ends find real faces with landmarks; scaling and clipping rules."""

from __future__ import annotations

import os

import numpy as np
import pytest

from facemask.config import Settings
from facemask.detect import YufaceDetector, YuNetDetector, create_detector, detection_scale
from facemask.io import load_image

YUNET = Settings().yunet_path


BACKENDS = [
    pytest.param(YufaceDetector, id="yuface"),
    pytest.param(
        lambda settings: YuNetDetector(YUNET, settings),
        id="yunet",
        marks=pytest.mark.skipif(not os.path.isfile(YUNET), reason="YuNet ONNX not beside the repo"),
    ),
]


@pytest.mark.parametrize("make", BACKENDS)
def test_detector_finds_the_astronaut_face_with_eyes_above_mouth(make, astronaut):
    faces = make(Settings()).detect(astronaut)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert 160 < x < 200 and 50 < y < 80 and 70 < w < 110
    marks = faces[0].landmarks
    assert marks.shape == (5, 2)
    right_eye, left_eye, nose, mouth_r, mouth_l = marks
    assert right_eye[0] < left_eye[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_r[1], mouth_l[1])


@pytest.mark.parametrize("make", BACKENDS)
def test_detector_finds_all_six_faces_of_the_group_photo(make, test_data):
    faces = make(Settings()).detect(load_image(test_data / "group.jpg"))
    assert len(faces) == 6
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)


@pytest.mark.parametrize("make", BACKENDS)
def test_detector_finds_no_face_in_a_coffee_cup(make, test_data):
    assert make(Settings()).detect(load_image(test_data / "no_face.jpg")) == []


def test_small_images_are_upscaled_and_huge_ones_downscaled():
    settings = Settings()
    assert detection_scale(320, 240, settings) == pytest.approx(2.0)
    assert detection_scale(100, 50, settings) == pytest.approx(3.0)
    assert detection_scale(1280, 720, settings) == 1.0
    assert detection_scale(4000, 3000, settings) == pytest.approx(settings.detect_max_side / 4000)


def test_faces_are_reported_in_original_pixels_after_upscaling(astronaut):
    import cv2

    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    faces = create_detector(Settings()).detect(small)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert 80 < x < 100 and 25 < y < 40 and 35 < w < 55
    assert np.all(faces[0].landmarks[:, 0] < 256)


def test_missing_yunet_file_falls_back_to_yuface_in_auto_mode(tmp_path):
    settings = Settings(yunet_path=str(tmp_path / "missing.onnx"), yunet_repo_id="nobody/nothing")
    assert create_detector(settings).name == "yuface"


def test_missing_yunet_file_is_an_error_when_yunet_is_required(tmp_path):
    settings = Settings(detector="yunet", yunet_path=str(tmp_path / "missing.onnx"), yunet_repo_id="nobody/nothing")
    with pytest.raises(FileNotFoundError, match="FACEMASK_YUNET_PATH"):
        create_detector(settings)


# The pipeline's face finding (FaceFinder): extra passes for still images, padded pass for close-ups.

from facemask.detect import Face, FaceFinder, _ScalingDetector, mirrored, vote_faces  # noqa: E402


class _SpyBackend(_ScalingDetector):
    """A back-end that records the images it is given and answers from a script."""

    name = "spy"

    def __init__(self, settings, answer):
        super().__init__(settings)
        self.answer = answer
        self.calls: list[tuple[int, int]] = []

    def _detect_scaled(self, bgr):
        self.calls.append(bgr.shape[:2])
        return self.answer(bgr)


def test_mirrored_face_maps_back_with_eyes_in_image_order():
    marks = np.float32([[30, 40], [50, 40], [40, 50], [32, 60], [48, 60]])
    face = Face((20.0, 30.0, 40.0, 45.0), 0.9, marks)
    back = mirrored(mirrored(face, 100), 100)
    assert back.box == pytest.approx(face.box) and np.allclose(back.landmarks, marks)
    once = mirrored(face, 100)
    assert once.box == pytest.approx((40.0, 30.0, 40.0, 45.0))
    assert once.landmarks[0, 0] < once.landmarks[1, 0]  # right eye (image left) still first
    assert once.landmarks[3, 0] < once.landmarks[4, 0]


def test_votes_keep_the_best_face_of_each_place_and_count_the_passes_that_found_it():
    a = Face((0.0, 0.0, 10.0, 10.0), 0.6)
    b = Face((1.0, 1.0, 10.0, 10.0), 0.8)
    c = Face((50.0, 50.0, 10.0, 10.0), 0.3)
    assert vote_faces([[a, c], [b]], 0.3) == [(b, 2), (c, 1)]


@pytest.mark.parametrize("scores,kept", [((0.35, 0.0), False), ((0.35, 0.32), True), ((0.5, 0.0), True), ((0.25, 0.25), False)])
def test_a_low_score_face_is_kept_only_when_two_passes_agree(scores, kept):
    settings = Settings(detect_flip=False, detect_second_side=1024, detect_pad_fallback=0.0,
                        blur_threshold=0.45, blur_agree_threshold=0.3)
    answers = iter(scores)

    def answer(bgr):
        score = next(answers)
        scale = bgr.shape[1] / 400
        return [np.float32([100 * scale, 100 * scale, 60 * scale, 60 * scale, *[130 * scale] * 10, score])] if score else []

    spy = _SpyBackend(settings, answer)
    spy._detect_scaled = _rows(spy._detect_scaled)
    faces = FaceFinder(spy, settings).detect(np.full((300, 400, 3), 90, dtype=np.uint8), min_score=0.5)
    assert len(spy.calls) == 2 and (len(faces) == 1) is kept


def test_still_images_get_the_mirror_and_second_scale_passes_and_a_stream_one_pass():
    settings = Settings(detect_flip=True, detect_second_side=1280, detect_min_side=640, detect_pad_fallback=0.5)
    spy = _SpyBackend(settings, lambda bgr: [])
    finder = FaceFinder(spy, settings)
    image = np.full((300, 400, 3), 90, dtype=np.uint8)
    finder.detect(image, thorough=True, min_score=0.5)
    # base (640 px), second scale (1280 px), mirrored (640 px), then the padded pass (400 + 2 x 200 px)
    assert [max(c) for c in spy.calls] == [640, 1280, 640, 800]
    spy.calls.clear()
    finder.detect(image, thorough=False, min_score=0.5)
    assert [max(c) for c in spy.calls] == [640, 800]  # one pass, plus the padded one since nothing was found


def test_padded_pass_runs_only_when_no_face_reaches_the_display_threshold():
    settings = Settings(detect_flip=False, detect_second_side=0, detect_pad_fallback=0.5)
    sure = _SpyBackend(settings, lambda bgr: [np.float32([10, 10, 60, 60, *[30] * 10, 0.9])])
    spy = _SpyBackend(settings, lambda bgr: [])
    image = np.full((256, 256, 3), 90, dtype=np.uint8)
    for backend, passes in ((sure, 1), (spy, 2)):
        backend._detect_scaled = _rows(backend._detect_scaled)
        FaceFinder(backend, settings).detect(image, min_score=0.5)
        assert len(backend.calls) == passes


def _rows(detect):
    """Turn scripted N x 15 rows into Faces, as YuNet's decoder does."""

    def run(bgr):
        return [Face((float(r[0]), float(r[1]), float(r[2]), float(r[3])), float(r[14]),
                     np.asarray(r[4:14], dtype=np.float32).reshape(5, 2)) for r in detect(bgr)]

    return run


@pytest.mark.skipif(not os.path.isfile(YUNET), reason="YuNet ONNX not beside the repo")
def test_a_face_filling_the_frame_is_found_with_the_padded_pass(astronaut):
    import cv2

    settings = Settings(detection_threshold=0.7, blur_threshold=0.3)
    backend = YuNetDetector(YUNET, settings.replace(detection_threshold=0.3))
    # a close-up: the face box cut on every side (brow and chin outside the frame), as a 256 px photo
    box = backend.detect(astronaut)[0].box
    x, y, w, h = box
    crop = astronaut[int(y + 0.2 * h) : int(y + 0.8 * h), int(x + 0.2 * w) : int(x + 0.8 * w)]
    closeup = cv2.resize(np.ascontiguousarray(crop), (256, 256), interpolation=cv2.INTER_CUBIC)
    assert max((f.score for f in backend.detect(closeup)), default=0.0) < 0.7
    found = FaceFinder(backend, settings).detect(closeup, thorough=False, min_score=0.7)
    best = max(found, key=lambda f: f.score)
    assert best.score >= 0.7
    bx, by, bw, bh = best.box
    assert bx >= 0 and by >= 0 and bx + bw <= 256 and by + bh <= 256  # clipped to the close-up
    assert bw * bh > 0.3 * 256 * 256  # the big face, not a detail


def test_offline_start_skips_the_hub_download_and_its_retries(monkeypatch):
    import huggingface_hub
    from huggingface_hub import constants

    from facemask import detect

    calls: list[bool] = []

    def fake_download(repo_id, filename, local_files_only=False, **kwargs):
        calls.append(local_files_only)
        raise FileNotFoundError("not cached")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    assert detect._hub_reachable(timeout_s=1.0) is False
    assert detect._hub_file("opencv/face_detection_yunet", "x.onnx") is None
    assert calls == [True]  # the cache was asked; the network download (with its retries) was not tried
