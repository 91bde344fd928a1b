"""Privacy guarantees: with blur on (the default), no output gives back the eyes of a face.

* every face's eyes are pixelated in the image that leaves the pipeline and the CLI;
* the pixelated band is coarse: only a few blocks lie across the eyes;
* the JSON carries numbers and labels, never image content;
* faces the classifier is unsure about, and faces under the display threshold but over
  ``blur_threshold``, are blurred too;
* the band covers eyes and eyebrows of frontal, turned and tilted faces (synthetic landmarks).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from facemask import Face, Pipeline, Settings
from facemask.privacy import blur_region


def _eye_patches(face_box, landmarks, size: float = 0.12):
    """Squares of ``size`` face widths around each eye landmark, as ``(x0, y0, x1, y1)`` ints."""
    half = size * face_box[2]
    return [
        (int(ex - half), int(ey - half), int(math.ceil(ex + half)), int(math.ceil(ey + half)))
        for ex, ey in landmarks[:2]
    ]


def _runs(row: np.ndarray) -> int:
    """Number of runs of identical colour along a row of pixels."""
    changes = np.any(row[1:] != row[:-1], axis=1)
    return int(changes.sum()) + 1


@pytest.fixture(scope="module")
def group(test_data):
    from facemask import load_image

    return load_image(test_data / "group.jpg")


def test_every_face_has_its_eyes_pixelated_in_the_output(pipeline, group):
    result = pipeline.analyze(group)
    output = pipeline.render(group, result, draw=False)
    assert len(result.faces) == 6
    for face in result.faces:
        for x0, y0, x1, y1 in _eye_patches(face.box, face.landmarks):
            before, after = group[y0:y1, x0:x1], output[y0:y1, x0:x1]
            assert np.abs(before.astype(int) - after.astype(int)).mean() > 4, face.box
            # an eye-sized patch (about one cell wide) touches at most 3 x 3 pixelation cells
            assert len(np.unique(before.reshape(-1, 3), axis=0)) > 40
            assert len(np.unique(after.reshape(-1, 3), axis=0)) <= 9, face.box


def test_only_a_few_blocks_lie_across_the_eyes(pipeline, group):
    result = pipeline.analyze(group)
    output = pipeline.render(group, result, draw=False)
    blocks = pipeline.settings.blur_blocks
    for face in result.faces:
        x, _, w, _ = (int(round(v)) for v in face.box)
        eye_y = int(round(np.mean([p[1] for p in face.landmarks[:2]])))
        assert _runs(group[eye_y, x : x + w]) > 3 * blocks  # the input is detailed there
        assert _runs(output[eye_y, x : x + w]) <= blocks + 2  # partial cells at both ends


def test_the_default_blur_strength_is_a_handful_of_blocks_per_face():
    assert Settings().blur and Settings().blur_mode == "eyes"
    assert 3 <= Settings().blur_blocks <= 6


def test_blur_is_on_by_default_in_the_one_call_pipeline(pipeline, test_data, astronaut):
    output, result = pipeline(test_data / "astronaut.jpg")
    (x0, y0, x1, y1), _ = _eye_patches(result.faces[0].box, result.faces[0].landmarks)
    assert not np.array_equal(output[y0:y1, x0:x1], astronaut[y0:y1, x0:x1])
    unblurred, _ = pipeline(test_data / "astronaut.jpg", blur=False)
    assert np.array_equal(unblurred[y0:y1, x0:x1], astronaut[y0:y1, x0:x1])


def test_cli_writes_only_blurred_images_by_default(test_data, tmp_path, astronaut, pipeline):
    run = subprocess.run(
        [sys.executable, "-m", "facemask", "detect", "--out", str(tmp_path), str(test_data / "astronaut.jpg")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    written = cv2.cvtColor(cv2.imread(str(tmp_path / "astronaut.jpg")), cv2.COLOR_BGR2RGB)  # a JPEG stays a JPEG
    face = json.loads(run.stdout)["faces"][0]
    for x0, y0, x1, y1 in _eye_patches(face["box"], face["landmarks"]):
        assert np.abs(written[y0:y1, x0:x1].astype(int) - astronaut[y0:y1, x0:x1].astype(int)).mean() > 4
    assert list(tmp_path.iterdir()) == [tmp_path / "astronaut.jpg"]
    assert face["blur"] in json.loads(run.stdout)["blurred"]  # the region is listed at the top level too


def _leaves(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_json_results_carry_no_image_content(pipeline, group):
    data = pipeline.analyze(group).to_dict()
    text = json.dumps(data)
    assert len(text) < 600 * (len(data["faces"]) + 1)  # numbers per face, not pixels
    for leaf in _leaves(data):
        assert leaf is None or isinstance(leaf, (int, float, bool)) or (isinstance(leaf, str) and len(leaf) <= 80)
    for face in data["faces"]:
        assert set(face) == {"box", "score", "label", "scores", "landmarks", "blur"}


class _UnsureClassifier:
    """A classifier that cannot tell the classes apart."""

    runtime = "test"

    def predict_proba(self, crops):
        return np.full((len(crops), 3), 1 / 3, dtype=np.float32)


class _FixedDetector:
    """A detector that returns the given faces for any image."""

    name = "fixed"

    def __init__(self, faces):
        self.faces = faces

    def detect(self, image):
        return list(self.faces)


def _astronaut_face(pipeline, astronaut, score: float) -> Face:
    found = pipeline.detector.detect(astronaut)[0]
    return Face(box=found.box, score=score, landmarks=found.landmarks)


def test_faces_the_classifier_is_unsure_about_are_blurred(pipeline, astronaut):
    face = _astronaut_face(pipeline, astronaut, 0.9)
    unsure = Pipeline(Settings(), classifier=_UnsureClassifier(), detector=_FixedDetector([face]))
    result = unsure.analyze(astronaut)
    assert max(result.faces[0].scores.values()) < 0.34
    output = unsure.render(astronaut, result)
    (x0, y0, x1, y1), _ = _eye_patches(face.box, face.landmarks)
    assert np.abs(output[y0:y1, x0:x1].astype(int) - astronaut[y0:y1, x0:x1].astype(int)).mean() > 4


@pytest.mark.parametrize("score,blurred", [(0.47, True), (0.3, False)])
def test_faces_under_the_display_threshold_are_blurred_down_to_the_blur_threshold(pipeline, astronaut, score, blurred):
    settings = Settings()
    assert settings.blur_threshold <= 0.47 < settings.detection_threshold and 0.3 < settings.blur_threshold
    face = _astronaut_face(pipeline, astronaut, score)
    quiet = Pipeline(settings, classifier=_UnsureClassifier(), detector=_FixedDetector([face]))
    result = quiet.analyze(astronaut)
    output = quiet.render(astronaut, result)
    assert result.faces == []  # not shown: under the display threshold
    (x0, y0, x1, y1), _ = _eye_patches(face.box, face.landmarks)
    changed = not np.array_equal(output[y0:y1, x0:x1], astronaut[y0:y1, x0:x1])
    assert changed is blurred and (len(result.blurred) == 1) is blurred


def test_detect_json_lists_every_pixelated_region_faces_under_the_display_threshold_included(pipeline, astronaut):
    shown = _astronaut_face(pipeline, astronaut, 0.9)
    x, y, w, h = shown.box
    hidden = Face(box=(x + 260.0, y, w, h), score=0.47, landmarks=shown.landmarks + np.float32([260.0, 0.0]))
    two = Pipeline(Settings(), classifier=_UnsureClassifier(), detector=_FixedDetector([shown, hidden]))
    result = two.analyze(astronaut)
    data = json.loads(json.dumps(result.to_dict()))
    assert len(data["faces"]) == 1  # only the face over the display threshold gets a label
    assert data["faces"][0]["blur"] in data["blurred"]
    assert len(data["blurred"]) == 2
    output = two.render(astronaut, result, draw=False)
    changed = np.any(output != astronaut, axis=2)
    listed = np.zeros_like(changed)
    for rx, ry, rw, rh in data["blurred"]:
        listed[ry : ry + rh, rx : rx + rw] = True
    assert changed.any() and not (changed & ~listed).any()  # nothing is pixelated outside the listed regions


def test_no_blur_means_no_listed_regions(pipeline, astronaut):
    data = pipeline.analyze(astronaut, blur=False).to_dict()
    assert data["faces"] and data["blurred"] == []


def _app_handlers():
    """The app's Handlers class, imported the way the Space imports it (app/ on sys.path, flat modules)."""
    pytest.importorskip("gradio")
    app_dir = str(Path(__file__).resolve().parents[1] / "app")
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    import handlers

    return handlers.Handlers


def test_app_detect_api_lists_the_pixelated_regions(pipeline, test_data):
    Handlers = _app_handlers()

    _, results = Handlers(pipeline).detect({"path": str(test_data / "group.jpg")}, 0.5, True, "eyes")
    assert len(results["faces"]) == 6
    assert sorted(face["blur"] for face in results["faces"]) == sorted(results["blurred"])


# Synthetic faces: a head modelled as a vertical cylinder of radius R, facial features given as
# (x, y) in units of the distance between the eyes, origin midway between them (frontal view,
# measured on tests/data/astronaut.jpg: eyebrows 0.35 above the eye line, box 2.1 wide).
_EYES = [(-0.5, 0.0), (0.5, 0.0)]
_EYE_OUTLINE = [(sx * x, y) for sx in (-1, 1) for x, y in [(0.28, 0.0), (0.72, 0.0), (0.5, -0.12), (0.5, 0.12)]]
_BROWS = [(sx * x, y) for sx in (-1, 1) for x, y in [(0.15, -0.35), (0.5, -0.45), (0.95, -0.32)]]
_NOSE_MOUTH = [(0.0, 0.55), (-0.4, 0.95), (0.4, 0.95)]
_RADIUS = 1.05


def synthetic_face(yaw: float = 0.0, roll: float = 0.0, eye_distance: float = 40.0, centre=(200.0, 200.0)):
    """Box, 5 landmarks and the visible eye/eyebrow points of a face turned by ``yaw`` and tilted by ``roll`` (deg)."""
    cx, cy = centre
    yaw_r, roll_r = math.radians(yaw), math.radians(roll)

    def project(points):
        out = []
        for x, y in points:
            angle = math.asin(x / _RADIUS) + yaw_r
            if abs(angle) >= math.radians(85):  # turned out of sight
                continue
            px, py = _RADIUS * math.sin(angle), y
            rx = px * math.cos(roll_r) - py * math.sin(roll_r)
            ry = px * math.sin(roll_r) + py * math.cos(roll_r)
            out.append((cx + rx * eye_distance, cy + ry * eye_distance))
        return out

    width = 2 * _RADIUS * eye_distance
    height = 1.21 * width
    box = (cx - width / 2, cy - 0.37 * height, width, height)
    landmarks = np.array(project(_EYES + _NOSE_MOUTH), dtype=np.float32)
    return box, landmarks, project(_EYE_OUTLINE + _BROWS)


@pytest.mark.parametrize(
    "yaw,roll",
    [(0, 0), (30, 0), (-30, 0), (50, 0), (-50, 0), (0, 20), (0, -20), (0, 30), (35, 15), (-35, -25)],
)
def test_blur_band_covers_eyes_and_eyebrows_of_turned_and_tilted_faces(yaw, roll):
    box, landmarks, features = synthetic_face(yaw, roll)
    assert len(landmarks) == 5 and len(features) >= 6
    x, y, w, h = blur_region(box, landmarks, "eyes", 1000, 1000)
    for fx, fy in features:
        assert x <= fx <= x + w and y <= fy <= y + h, (fx, fy)


@pytest.mark.parametrize("yaw,roll", [(0, 0), (40, 0), (0, 25)])
def test_blur_band_covers_eyes_and_eyebrows_without_landmarks(yaw, roll):
    box, _, features = synthetic_face(yaw, roll)
    x, y, w, h = blur_region(box, None, "eyes", 1000, 1000)
    for fx, fy in features:
        assert x <= fx <= x + w and y <= fy <= y + h, (fx, fy)


def test_blur_band_ignores_landmarks_outside_the_box_and_still_covers_the_eyes():
    box, landmarks, features = synthetic_face()
    broken = landmarks.copy()
    broken[:2, 1] += 3 * box[3]  # eye landmarks far below the face: a detector glitch
    x, y, w, h = blur_region(box, broken, "eyes", 1000, 1000)
    for fx, fy in features:
        assert x <= fx <= x + w and y <= fy <= y + h, (fx, fy)


def test_blur_band_stops_above_the_mouth_so_mask_status_stays_visible():
    box, landmarks, _ = synthetic_face()
    _, y, _, h = blur_region(box, landmarks, "eyes", 1000, 1000)
    assert y + h < landmarks[3:, 1].min()  # mouth corners: the mask's lower part is left as it is


def test_blur_band_reaches_past_the_nose_tip_landmark_when_landmarks_sit_too_high():
    # a masked face whose landmarks all came out one eye-nose gap too high (seen with YuNet on real photos)
    box, landmarks, features = synthetic_face()
    shifted = landmarks.copy()
    shifted[:, 1] -= landmarks[2][1] - landmarks[:2, 1].mean()
    x, y, w, h = blur_region(box, shifted, "eyes", 1000, 1000)
    for fx, fy in features:  # the true eyes, lower lids and brows
        assert x <= fx <= x + w and y <= fy <= y + h, (fx, fy)


@pytest.mark.parametrize("angle", [-30, -15, 15, 30])
def test_blur_covers_the_eyes_of_a_really_tilted_photo(pipeline, astronaut, angle):
    centre = (224.0, 110.0)  # midway between the astronaut's eyes
    matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
    tilted = cv2.warpAffine(astronaut, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)
    result = pipeline.analyze(tilted)
    assert len(result.blurred) >= 1
    # the astronaut's eyes (eye centres and outer brow ends, measured upright), moved with the photo
    points = np.array([[203, 104], [245, 105], [190, 91], [262, 92], [212, 90], [237, 90]], dtype=np.float64)
    moved = np.c_[points, np.ones(len(points))] @ matrix.T
    for px, py in moved:
        assert any(x <= px <= x + w and y <= py <= y + h for x, y, w, h in result.blurred), (px, py)


class _SpyPipeline:
    """Delegates to the real pipeline; records how many analyses overlap and which passes were asked for."""

    def __init__(self, real):
        import threading

        self.real, self.settings = real, real.settings
        self.lock, self.active, self.most, self.thorough = threading.Lock(), 0, 0, []

    def load(self, source):
        return self.real.load(source)

    def render(self, image, result):
        return self.real.render(image, result)

    def analyze(self, image, **options):
        import time

        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.thorough.append(options.get("thorough"))
        try:
            time.sleep(0.05)
            return self.real.analyze(image, **options)
        finally:
            with self.lock:
                self.active -= 1


def test_webcam_frames_take_turns_on_the_cores_and_get_one_detection_pass(pipeline, test_data):
    from concurrent.futures import ThreadPoolExecutor

    Handlers = _app_handlers()

    spy = _SpyPipeline(pipeline)
    handlers = Handlers(spy, frame_slots=1)  # type: ignore[arg-type]
    frame = {"path": str(test_data / "astronaut.jpg")}
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda _: handlers.detect_frame(frame, 0.5, True, "eyes"), range(4)))
    assert all(out[1]["faces"] and out[1]["blurred"] for out in outputs)
    assert spy.most == 1  # four visitors' frames, one at a time
    assert spy.thorough == [False] * 4  # a stream: one pass per frame
    handlers.detect({"path": str(test_data / "astronaut.jpg")}, 0.5, True, "eyes")
    assert spy.thorough[-1] is True  # a photo: the extra passes
