"""The app's ``/detect`` API through ``gradio_client``, against a real server started by the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from PIL import Image

from facemask.io import load_image
from facemask.labels import LABELS
from tests.appserver import REPO, AppServer, running_app
from tests.badinputs import png_bomb

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

DATA = REPO / "tests" / "data"
PATCH = 4
"""Half-size of the square compared around a landmark."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    yield from running_app(tmp_path_factory.mktemp("app"), env={"HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="module")
def client(server: AppServer) -> Client:
    return Client(server.url, verbose=False, download_files=str(server.cache_dir.parent / "downloads"))


def detect(client: Client, path: Path, **options: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Call ``/detect``; return the output image as RGB and the results."""
    image_path, results = client.predict(handle_file(str(path)), api_name="/detect", **options)
    return np.asarray(Image.open(image_path).convert("RGB")), results


def patch(image: np.ndarray, point: list[float]) -> np.ndarray:
    x, y = (int(round(v)) for v in point)
    return image[y - PATCH : y + PATCH + 1, x - PATCH : x + PATCH + 1].astype(np.int16)


def changed(before: np.ndarray, after: np.ndarray, point: list[float]) -> float:
    """Mean absolute pixel change in a small square around ``point``."""
    return float(np.abs(patch(before, point) - patch(after, point)).mean())


def test_detect_returns_every_face_with_label_probabilities_and_box(client: Client) -> None:
    original = load_image(DATA / "group.jpg")
    output, results = detect(client, DATA / "group.jpg")

    assert output.shape == original.shape
    assert (results["width"], results["height"]) == (960, 540)
    assert len(results["faces"]) == 6
    assert results["summary"].startswith("6 faces:")
    for face in results["faces"]:
        assert list(face["scores"]) == list(LABELS)
        assert sum(face["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        assert face["label"] == max(face["scores"], key=face["scores"].get)
        x, y, w, h = face["box"]
        assert 0 <= x and 0 <= y and x + w <= 960 and y + h <= 540 and w > 40
        assert len(face["landmarks"]) == 5


def test_privacy_blur_pixelates_eyes_but_leaves_mouth_and_background(client: Client) -> None:
    original = load_image(DATA / "group.jpg")
    output, results = detect(client, DATA / "group.jpg")

    for face in results["faces"]:
        right_eye, left_eye, _, mouth_right, _ = face["landmarks"]
        assert changed(original, output, right_eye) > 4 or changed(original, output, left_eye) > 4
        assert changed(original, output, mouth_right) < 2
        bx, by, bw, bh = face["blur"]
        fx, fy, _, _ = face["box"]
        assert bx <= right_eye[0] and left_eye[0] <= bx + bw and by <= min(fy, right_eye[1]) < by + bh
    assert np.array_equal(output[500:530, 880:950], original[500:530, 880:950])  # plain background


def test_blur_can_be_switched_off_or_widened_to_the_whole_face(client: Client) -> None:
    original = load_image(DATA / "astronaut.jpg")
    plain, plain_results = detect(client, DATA / "astronaut.jpg", blur=False)
    full, full_results = detect(client, DATA / "astronaut.jpg", blur_mode="face")

    (face,) = plain_results["faces"]
    right_eye, left_eye, nose, mouth_right, mouth_left = face["landmarks"]
    assert face["blur"] is None
    assert changed(original, plain, right_eye) < 1 and changed(original, plain, left_eye) < 1
    assert full_results["faces"][0]["blur"] is not None
    assert changed(original, full, nose) > 2 or changed(original, full, mouth_right) > 2


def test_faces_under_the_threshold_are_not_listed_but_still_blurred(client: Client) -> None:
    original = load_image(DATA / "astronaut.jpg")
    _, listed = detect(client, DATA / "astronaut.jpg")
    output, results = detect(client, DATA / "astronaut.jpg", threshold=0.99)  # the face scores about 0.95

    assert results["faces"] == [] and results["summary"] == "No face found."
    right_eye, left_eye = listed["faces"][0]["landmarks"][:2]
    assert changed(original, output, right_eye) > 4 or changed(original, output, left_eye) > 4


def test_image_without_face_comes_back_unchanged_with_empty_results(client: Client) -> None:
    original = load_image(DATA / "no_face.jpg")
    output, results = detect(client, DATA / "no_face.jpg")

    assert results["faces"] == []
    assert results["summary"] == "No face found."
    assert np.array_equal(output, original)


def test_exif_rotated_photo_is_analysed_upright(client: Client, tmp_path: Path) -> None:
    upright = Image.open(DATA / "astronaut.jpg").crop((64, 0, 448, 512))  # 384 wide, 512 tall
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6 means: rotate 270 to view
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    stored.save(path, exif=exif, quality=92)

    output, results = detect(client, path)

    assert output.shape[:2] == (512, 384)
    assert (results["width"], results["height"]) == (384, 512)
    (face,) = results["faces"]
    x, y, w, h = face["box"]
    assert 80 < x + w / 2 < 240 and 60 < y + h / 2 < 200  # the face sits where it does upright


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.jpg", b"this is a text file, not a photo\n", "not an image file"),
        ("cut.jpg", (DATA / "astronaut.jpg").read_bytes()[:6000], "truncated"),
        ("empty.png", b"", "empty"),
        ("bomb.png", png_bomb(), "too large"),  # 20000 x 20000 pixels declared in a tiny file
    ],
)
def test_bad_file_gets_a_clear_error_and_the_next_request_succeeds(
    client: Client, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)

    with pytest.raises(AppError) as error:
        client.predict(handle_file(str(bad)), api_name="/detect")

    assert message in str(error.value).lower()
    assert "traceback" not in str(error.value).lower()
    _, results = detect(client, DATA / "astronaut.jpg")
    assert len(results["faces"]) == 1


def test_bad_setting_is_refused_with_a_message(client: Client) -> None:
    with pytest.raises(AppError, match="blur mode"):
        client.predict(handle_file(str(DATA / "astronaut.jpg")), 0.6, True, "mouth", api_name="/detect")


def test_server_log_holds_nothing_about_faces(client: Client, server: AppServer) -> None:
    detect(client, DATA / "group.jpg")

    log = server.log().lower()
    assert "model" in log and "runtime" in log  # the start-up line is there, so the log is being read
    for word in ("group.jpg", "with_mask", "without_mask", "landmarks", "box", "traceback"):
        assert word not in log


def test_api_lists_detect_with_its_options(client: Client) -> None:
    api = client.view_api(return_format="dict", print_info=False)
    parameters = [p["parameter_name"] for p in api["named_endpoints"]["/detect"]["parameters"]]

    assert parameters == ["image", "threshold", "blur", "blur_mode"]


def test_masked_face_is_called_with_mask_and_bare_face_is_not(client: Client) -> None:
    _, masked = detect(client, DATA / "astronaut_masked.jpg")
    _, bare = detect(client, DATA / "astronaut.jpg")

    assert [f["label"] for f in masked["faces"]] == ["with_mask"]
    assert [f["label"] for f in bare["faces"]] == ["without_mask"]
