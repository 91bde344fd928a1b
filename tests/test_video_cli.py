"""``python -m facemask video``: the stable contract (stdout JSON keys, frames JSONL, --out, exit status)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from facemask.video import probe
from tests.clips import Clip, write_clip, write_corrupt

REPO = Path(__file__).resolve().parents[1]
SUMMARY_KEYS = {"path", "out", "frames", "fps", "width", "height", "duration", "faces", "face_frames"}
FACE_KEYS = {"box", "score", "label", "scores", "landmarks", "blur", "track"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    return write_clip(tmp_path_factory.mktemp("cli-clips") / "walk.mp4", seconds=1.0)


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "facemask", "video", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def test_one_input_writes_the_video_the_frames_jsonl_and_one_summary_line(clip: Clip, tmp_path: Path) -> None:
    out, frames = tmp_path / "anon.mp4", tmp_path / "frames.jsonl"
    done = cli(str(clip.path), "--out", str(out), "--frames-jsonl", str(frames))

    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    summary = json.loads(line)
    assert set(summary) == SUMMARY_KEYS
    assert summary["out"] == str(out) and out.is_file()
    assert (summary["frames"], summary["fps"], summary["width"], summary["height"], summary["duration"]) == (
        25, 25.0, 320, 240, 1.0)
    assert summary["faces"] == {"with_mask": 0, "without_mask": 1, "incorrect_mask": 0}
    assert summary["face_frames"] == {"with_mask": 0, "without_mask": 25, "incorrect_mask": 0}
    records = [json.loads(row) for row in frames.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(25))
    assert all(set(r) == {"frame", "time", "faces", "blurred"} for r in records)
    assert all(set(f) == FACE_KEYS and f["blur"] in r["blurred"] for r in records for f in r["faces"])
    assert "frame" in done.stderr  # the tqdm progress bar
    assert probe(out).frames == 25


def test_several_inputs_go_to_a_folder_and_a_bad_file_is_reported_then_exit_1(clip: Clip, tmp_path: Path) -> None:
    corrupt = write_corrupt(tmp_path / "broken.mp4")
    out = tmp_path / "anonymised"
    done = cli(str(corrupt), str(clip.path), "--out", str(out), "--no-blur", "--threshold", "0.6")

    assert done.returncode == 1
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert set(first) == {"path", "error"} and first["path"] == str(corrupt) and first["error"]
    assert set(second) == SUMMARY_KEYS and Path(second["out"]) == out / "walk.mp4" and (out / "walk.mp4").is_file()


def test_full_face_blurs_down_to_the_chin_where_the_eye_band_stops_above_the_mouth(clip: Clip, tmp_path: Path) -> None:
    eyes, face = tmp_path / "eyes.jsonl", tmp_path / "face.jsonl"
    assert cli(str(clip.path), "--out", str(tmp_path / "a.mp4"), "--frames-jsonl", str(eyes)).returncode == 0
    assert cli(str(clip.path), "--out", str(tmp_path / "b.mp4"), "--frames-jsonl", str(face),
               "--full-face").returncode == 0

    def faces(path: Path) -> list[dict]:
        return [f for row in path.read_text().splitlines() for f in json.loads(row)["faces"]]

    band, full = faces(eyes), faces(face)
    assert band and len(band) == len(full)
    for a, b in zip(band, full):
        assert a["box"] == b["box"]
        x, y, w, h = b["box"]
        mouth_y = min(a["landmarks"][3][1], a["landmarks"][4][1])
        ax, ay, aw, ah = a["blur"]
        bx, by, bw, bh = b["blur"]
        assert ay + ah <= mouth_y, "the eye band ends at the mouth corners at the lowest, so the mask stays visible"
        assert by + bh >= y + h and by <= y and bx <= x and bx + bw >= x + w, "full face covers the whole box"
        assert bw * bh > aw * ah


def test_bad_options_exit_2_with_a_message(clip: Clip, tmp_path: Path) -> None:
    done = cli(str(clip.path), "--out", str(tmp_path / "x.mp4"), "--model", str(tmp_path / "no-model"))
    assert done.returncode == 2 and "error" in done.stderr
