"""The app's Video tab through its ``/video`` API (gradio_client, real server) and the webcam stream's tracker."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Iterator

import numpy as np
import pytest
from PIL import Image

from facemask import Pipeline
from facemask.video import probe
from tests.appserver import REPO, AppServer, running_app
from tests.clips import Clip, upright_frames, write_clip, write_corrupt
from tests.test_app_space import APP_DIR, load_module
from tests.test_video import FlickeringDetector, change_at

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

MAX_SECONDS = 2.5
"""The test server's video length limit (FACEMASK_VIDEO_MAX_SECONDS)."""


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("app-clips")
    return {
        "face": write_clip(folder / "face.mp4", seconds=2.0).path,
        "long": write_clip(folder / "long.mp4", seconds=3.0, fps=5, width=160, height=120).path,
        "corrupt": write_corrupt(folder / "corrupt.mp4"),
        "photo": REPO / "tests" / "data" / "astronaut.jpg",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    env = {"HF_HUB_OFFLINE": "1", "FACEMASK_VIDEO_MAX_SECONDS": str(MAX_SECONDS)}
    yield from running_app(tmp_path_factory.mktemp("video-app"), env=env)


@pytest.fixture(scope="module")
def client(server: AppServer) -> Client:
    return Client(server.url, verbose=False, download_files=str(server.cache_dir.parent / "downloads"))


def test_video_api_returns_the_anonymised_mp4_and_the_summary_with_counts_over_time(
    client: Client, clips: dict[str, Path], server: AppServer
) -> None:
    video, results = client.predict(handle_file(str(clips["face"])), api_name="/video")
    path = Path(video["video"] if isinstance(video, dict) else video)
    before, after = probe(clips["face"]), probe(path)

    assert (after.width, after.height, after.fps, after.frames, after.duration, after.audio) == (
        before.width, before.height, before.fps, before.frames, before.duration, before.audio)
    assert results["faces"] == {"with_mask": 0, "without_mask": 1, "incorrect_mask": 0}
    assert results["face_frames"]["without_mask"] == before.frames
    assert len(results["timeline"]) == before.frames and results["timeline"][0]["without_mask"] == 1
    assert "path" not in results and "out" not in results
    assert server.process.poll() is None


def test_video_api_honours_the_blur_switch(client: Client, clips: dict[str, Path], tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "again.mp4", seconds=1.0)  # the same content as the "face" clip
    blurred, _ = client.predict(handle_file(str(clip.path)), api_name="/video")
    plain, _ = client.predict(handle_file(str(clip.path)), 0.5, False, "eyes", api_name="/video")
    original = upright_frames(clip.path)[10]
    with_blur = upright_frames(Path(blurred["video"] if isinstance(blurred, dict) else blurred))[10]
    without = upright_frames(Path(plain["video"] if isinstance(plain, dict) else plain))[10]

    for eye in clip.eyes(10):
        assert change_at(original, with_blur, eye) > 8
        assert change_at(original, without, eye) < 4


@pytest.mark.parametrize("name, message", [("corrupt", "not a readable video"), ("photo", "still image"),
                                           ("long", f"the limit is {MAX_SECONDS:g} s")])
def test_bad_or_too_long_videos_get_a_clear_error_and_the_server_stays_up(
    client: Client, clips: dict[str, Path], server: AppServer, name: str, message: str
) -> None:
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(clips[name])), api_name="/video")
    assert server.process.poll() is None


@pytest.fixture(scope="module")
def handlers_module() -> ModuleType:
    return load_module(APP_DIR / "handlers.py")


def test_webcam_stream_keeps_a_face_blurred_in_frames_where_the_detector_misses_it(
    handlers_module: ModuleType, pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip: Clip = write_clip(tmp_path / "cam.mp4", seconds=1.0, fps=15, audio=False)
    clock = iter(i / 15 for i in range(1000))  # frames arrive at 15 per second, however fast this machine is
    monkeypatch.setattr(handlers_module.time, "monotonic", lambda: next(clock))
    frames = upright_frames(clip.path)
    misses = {3, 4, 6, 9, 10, 11}
    flicker = Pipeline(pipeline.settings, classifier=pipeline.classifier,
                       detector=FlickeringDetector(pipeline.detector, misses))
    handlers = handlers_module.Handlers(flicker)
    tracker = None
    for index, frame in enumerate(frames):
        path = tmp_path / f"frame{index}.png"
        Image.fromarray(frame).save(path)
        rendered, results, *_, tracker = handlers.detect_frame({"path": str(path)}, 0.5, True, "eyes", tracker)
        assert (len(results["faces"]) == 0) == (index in misses)
        for eye in clip.eyes(index):
            assert change_at(frame, rendered, eye) > 8, index


def test_the_space_bundle_carries_the_video_tab(tmp_path: Path) -> None:
    bundle = load_module(APP_DIR / "bundle.py")
    space = bundle.build_space(tmp_path / "space")

    assert (space / "video_tab.py").is_file() and (space / "facemask" / "video.py").is_file()
    assert "av==" in (space / "requirements.txt").read_text()
