"""The command-line contract: one JSON object per input, errors as JSON, exit status at the end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from facemask import LABELS

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> tuple[int, list[dict], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "facemask", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, lines, proc.stderr


def test_classify_prints_a_label_and_scores_per_image(test_data):
    code, lines, _ = run_cli("classify", str(test_data / "astronaut.jpg"), str(test_data / "astronaut_masked.jpg"))
    assert code == 0 and len(lines) == 2
    for line in lines:
        assert line["label"] in LABELS
        assert set(line["scores"]) == set(LABELS)
        assert sum(line["scores"].values()) == pytest.approx(1.0, abs=1e-3)


def test_detect_writes_annotated_images_and_reports_faces_in_original_pixels(test_data, tmp_path):
    code, lines, _ = run_cli("detect", "--out", str(tmp_path), str(test_data / "group.jpg"))
    assert code == 0
    (result,) = lines
    assert (result["width"], result["height"]) == (960, 540)
    assert len(result["faces"]) == 6
    for face in result["faces"]:
        x, y, w, h = face["box"]
        assert 0 <= x and x + w <= 960 and 0 <= y and y + h <= 540
        assert face["blur"] is not None and len(face["landmarks"]) == 5
    assert (tmp_path / "group.jpg").is_file()  # a JPEG stays a JPEG


def test_detect_writes_each_image_in_its_own_format_unless_told(test_data, tmp_path):
    photo = tmp_path / "in" / "shot.png"
    photo.parent.mkdir()
    Image.open(test_data / "astronaut.jpg").save(photo)
    jpeg = test_data / "astronaut.jpg"
    assert run_cli("detect", "--out", str(tmp_path / "auto"), str(photo), str(jpeg))[0] == 0
    assert sorted(p.name for p in (tmp_path / "auto").iterdir()) == ["astronaut.jpg", "shot.png"]
    assert run_cli("detect", "--format", "png", "--out", str(tmp_path / "png"), str(jpeg))[0] == 0
    written = tmp_path / "png" / "astronaut.png"
    with Image.open(written) as image:
        assert image.format == "PNG" and image.size == (512, 512)
    with Image.open(tmp_path / "auto" / "astronaut.jpg") as image:
        assert image.format == "JPEG" and image.size == (512, 512)


def test_detect_without_blur_reports_no_blur_regions(test_data):
    code, lines, _ = run_cli("detect", "--no-blur", str(test_data / "astronaut.jpg"))
    assert code == 0 and lines[0]["faces"][0]["blur"] is None


def test_full_face_blur_covers_the_face_box(test_data):
    _, lines, _ = run_cli("detect", "--full-face", str(test_data / "astronaut.jpg"))
    face = lines[0]["faces"][0]
    bx, by, bw, bh = face["box"]
    x, y, w, h = face["blur"]
    assert x <= bx and y <= by and y + h >= by + bh - 1


def test_a_directory_means_every_image_in_it(test_data):
    code, lines, _ = run_cli("detect", str(test_data))
    assert code == 0
    assert sorted(Path(line["path"]).name for line in lines) == sorted(p.name for p in test_data.glob("*.jpg"))


def test_bad_input_is_reported_as_json_and_the_run_goes_on(test_data, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a picture")
    code, lines, stderr = run_cli("detect", str(bad), str(test_data / "astronaut.jpg"), str(tmp_path / "missing.png"))
    assert code == 1
    assert [set(line) for line in lines] == [{"path", "error"}, {"path", "width", "height", "faces", "blurred"}, {"path", "error"}]
    assert "not an image" in lines[0]["error"] and "no such file" in lines[2]["error"]
    assert "Traceback" not in stderr


def test_an_unusable_model_is_a_clear_error(tmp_path, test_data):
    code, lines, stderr = run_cli("classify", "--model", str(tmp_path), str(test_data / "astronaut.jpg"))
    assert code == 2 and lines == []
    assert "config.json" in stderr and "Traceback" not in stderr


def test_a_folder_processed_several_at_once_gives_the_same_lines_in_input_order(test_data, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes((test_data / "group.jpg").read_bytes()[:300])  # truncated JPEG among good ones
    inputs = [str(test_data / "group.jpg"), str(bad), str(test_data / "astronaut.jpg"),
              str(test_data / "no_face.jpg"), str(test_data / "astronaut_masked.jpg")]
    one_code, one, _ = run_cli("detect", "--workers", "1", "--out", str(tmp_path / "one"), *inputs)
    many_code, many, stderr = run_cli("detect", "--workers", "3", "--out", str(tmp_path / "many"), *inputs)
    assert one_code == many_code == 1
    assert [line["path"] for line in many] == inputs
    assert many == one
    assert "error" in many[1] and "Traceback" not in stderr
    for name in ("group", "astronaut", "no_face", "astronaut_masked"):
        assert (tmp_path / "many" / f"{name}.jpg").read_bytes() == (tmp_path / "one" / f"{name}.jpg").read_bytes()


def test_image_folders_share_the_cores_out_among_the_images_in_flight(monkeypatch):
    import facemask.ordered
    from facemask.cli import folder_settings
    from facemask.config import Settings

    monkeypatch.setattr(facemask.ordered, "onnx_threads", lambda: 4)
    assert folder_settings(Settings(), 2).onnx_threads == 2
    assert folder_settings(Settings(), 3).onnx_threads == 1
    assert folder_settings(Settings(), 8).onnx_threads == 1
    assert folder_settings(Settings(), 1).onnx_threads == 0  # one image at a time: every core (the default)
    assert folder_settings(Settings(onnx_threads=3), 2).onnx_threads == 3  # an explicit choice is kept
