"""The pipeline end to end on the repo's images: faces, probabilities, blur, drawing, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facemask import LABELS
from facemask.privacy import blur_region, pixelate


def test_one_face_is_found_and_classified_with_probabilities(pipeline, astronaut):
    result = pipeline.analyze(astronaut)
    assert len(result.faces) == 1
    face = result.faces[0]
    assert face.label in LABELS
    assert set(face.scores) == set(LABELS)
    assert sum(face.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert face.confidence == max(face.scores.values())
    assert len(face.landmarks) == 5
    assert result.detector in ("yunet", "yuface") and result.runtime in ("onnx", "torch")


def test_blur_changes_the_eye_band_and_leaves_the_rest_of_the_image_alone(pipeline, astronaut):
    result = pipeline.analyze(astronaut)
    output = pipeline.render(astronaut, result, draw=False)
    x, y, w, h = result.faces[0].blur
    eyes = result.faces[0].landmarks[:2]
    for ex, ey in eyes:
        assert x <= ex <= x + w and y <= ey <= y + h
    region_in, region_out = astronaut[y : y + h, x : x + w], output[y : y + h, x : x + w]
    assert np.abs(region_in.astype(int) - region_out.astype(int)).mean() > 3
    outside = np.ones(astronaut.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    assert np.array_equal(astronaut[outside], output[outside])


def test_blur_stops_above_the_mouth_so_mask_status_stays_visible(pipeline, astronaut):
    face = pipeline.analyze(astronaut).faces[0]
    _, y, _, h = face.blur
    mouth_y = min(face.landmarks[3][1], face.landmarks[4][1])
    assert y + h < mouth_y


def test_full_face_mode_covers_the_whole_box(pipeline, astronaut):
    face = pipeline.analyze(astronaut, blur_mode="face").faces[0]
    bx, by, bw, bh = face.box
    x, y, w, h = face.blur
    assert x <= bx and y <= by and x + w >= bx + bw - 1 and y + h >= by + bh - 1


def test_blur_off_returns_the_input_pixels_apart_from_drawings(pipeline, astronaut):
    result = pipeline.analyze(astronaut, blur=False)
    assert result.faces[0].blur is None and result.blurred == []
    assert np.array_equal(pipeline.render(astronaut, result, draw=False), astronaut)


def test_render_draws_boxes_without_touching_the_input(pipeline, astronaut):
    before = astronaut.copy()
    result = pipeline.analyze(astronaut, blur=False)
    drawn = pipeline.render(astronaut, result)
    assert np.array_equal(astronaut, before)
    assert not np.array_equal(drawn, astronaut)


def test_all_faces_of_a_group_are_classified_in_one_batch(pipeline, test_data):
    calls = []
    original = pipeline.classifier.predict_proba

    def spy(crops):
        calls.append(len(crops))
        return original(crops)

    pipeline.classifier.predict_proba = spy
    try:
        _, result = pipeline(test_data / "group.jpg")
    finally:
        pipeline.classifier.predict_proba = original
    assert calls == [6]
    assert len(result.faces) == 6
    assert result.summary().startswith("6 faces: ")


def test_no_face_gives_an_empty_result_and_says_so(pipeline, test_data):
    image, result = pipeline(test_data / "no_face.jpg")
    assert result.faces == [] and result.summary() == "No face found."
    assert image.shape == (400, 600, 3)


def test_result_is_json_serialisable_with_the_cli_fields(pipeline, astronaut):
    data = json.loads(json.dumps(pipeline.analyze(astronaut).to_dict()))
    face = data["faces"][0]
    assert set(face) == {"box", "score", "label", "scores", "landmarks", "blur"}
    assert data["width"] == 512 and data["height"] == 512


def test_faces_under_the_display_threshold_are_still_blurred(pipeline, astronaut):
    score = pipeline.analyze(astronaut).faces[0].score
    result = pipeline.analyze(astronaut, threshold=min(score + 0.01, 0.99))
    assert result.faces == []
    if score >= pipeline.settings.blur_threshold:
        assert len(result.blurred) == 1


def test_summary_counts_each_label():
    from facemask.pipeline import DetectionResult, FaceResult

    def face(label):
        scores = {name: (0.9 if name == label else 0.05) for name in LABELS}
        return FaceResult((0, 0, 10, 10), 0.9, label, scores, None)

    result = DetectionResult(100, 100, [face("with_mask"), face("with_mask"), face("without_mask")], "yunet", "onnx")
    assert result.summary() == "3 faces: 2 with mask, 1 without mask"
    assert result.counts() == {"with_mask": 2, "without_mask": 1, "incorrect_mask": 0}


def test_pixelation_leaves_only_a_few_blocks_across_the_region():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    pixelate(image, (50, 50, 100, 40), block=20)
    region = image[50:90, 50:150]
    columns = {tuple(region[0, i]) for i in range(100)}
    assert len(columns) == 5


def test_blur_region_without_landmarks_falls_back_to_box_proportions():
    region = blur_region((100, 100, 80, 100), None, "eyes", 400, 400)
    x, y, w, h = region
    assert x < 100 and x + w > 180
    assert y < 100 and 140 < y + h < 170  # eye line at 40 % of the box, band ends above the nose


def test_blur_region_is_clipped_to_the_image():
    x, y, w, h = blur_region((0, 0, 50, 60), None, "face", 40, 40)
    assert x >= 0 and y >= 0 and x + w <= 40 and y + h <= 40


def test_faces_are_numbered_in_reading_order(pipeline, test_data):
    _, result = pipeline(test_data / "group.jpg")
    top_row = [f for f in result.faces if f.box[1] < 200]
    bottom_row = [f for f in result.faces if f.box[1] >= 200]
    assert result.faces == top_row + bottom_row
    for row in (top_row, bottom_row):
        assert [f.box[0] for f in row] == sorted(f.box[0] for f in row)


def test_without_the_classifier_the_same_regions_are_pixelated_and_no_face_is_listed(pipeline, test_data):
    from facemask import Pipeline, load_image

    class Refuses:
        runtime = "none"

        def predict_proba(self, crops):
            raise AssertionError("the anonymise-only path must not classify")

    group = load_image(test_data / "group.jpg")
    anonymise_only = Pipeline(pipeline.settings, classifier=Refuses(), detector=pipeline.detector)
    full = pipeline.analyze(group)
    only = anonymise_only.analyze(group, classify=False)
    assert len(full.faces) == 6 and only.faces == []
    assert only.blurred == full.blurred
    assert np.array_equal(anonymise_only.render(group, only, draw=False), pipeline.render(group, full, draw=False))
