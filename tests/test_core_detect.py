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
