"""facemask.video on generated clips: what is preserved, rotation, audio, bad files, limits, and no leaked face."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from facemask import Pipeline, Settings
from facemask.detect import Face
from facemask.video import FrameRecord, VideoError, anonymize_video, check_limits, probe
from tests.clips import TONE_HZ, Clip, upright_frames, write_clip, write_corrupt, write_truncated

PATCH = 3
"""Half-size of the square checked around an eye."""


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Clip]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "face": write_clip(folder / "face.mp4"),
        "phone": write_clip(folder / "phone.mp4", width=240, height=320, rotation=270),
        "no_face": write_clip(folder / "no_face.mp4", face=False, seconds=1.0),
        "pcm": write_clip(folder / "pcm.mkv", audio_codec="pcm_s16le", seconds=1.0),
    }


def run(pipeline: Pipeline, clip: Clip, out: Path, **options) -> tuple[object, list[FrameRecord]]:
    records: list[FrameRecord] = []
    summary = anonymize_video(pipeline, clip.path, out, on_frame=records.append, **options)
    return summary, records


def audio_samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]).astype(np.float64)


def change_at(before: np.ndarray, after: np.ndarray, point: tuple[float, float]) -> float:
    x, y = (int(round(v)) for v in point)
    a = before[y - PATCH : y + PATCH + 1, x - PATCH : x + PATCH + 1].astype(np.int16)
    b = after[y - PATCH : y + PATCH + 1, x - PATCH : x + PATCH + 1].astype(np.int16)
    return float(np.abs(a - b).mean())


def inside(point: tuple[float, float], regions: list[list[int]]) -> bool:
    """The eye's whole checked square lies inside one pixelated region."""
    x, y = point
    return any(rx <= x - PATCH and ry <= y - PATCH and x + PATCH < rx + rw and y + PATCH < ry + rh
               for rx, ry, rw, rh in regions)


def test_output_keeps_resolution_frame_rate_frame_count_duration_and_audio(
    pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path
) -> None:
    clip = clips["face"]
    summary, records = run(pipeline, clip, tmp_path / "out.mp4")
    before, after = probe(clip.path), probe(tmp_path / "out.mp4")

    assert (after.width, after.height, after.fps, after.frames) == (before.width, before.height, before.fps, 50)
    assert after.duration == pytest.approx(before.duration, abs=1e-3) == 2.0
    assert len(upright_frames(tmp_path / "out.mp4")) == 50 == len(records) == summary.frames
    assert [r.time for r in records[:3]] == [0.0, 0.04, 0.08]
    assert after.audio == ["aac"]
    original, copied = audio_samples(clip.path), audio_samples(tmp_path / "out.mp4")
    assert np.array_equal(original, copied)  # packets copied, not re-encoded
    spectrum = np.abs(np.fft.rfft(copied))
    assert np.fft.rfftfreq(copied.size, 1 / 44100)[spectrum.argmax()] == pytest.approx(TONE_HZ, abs=2)
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    head = (tmp_path / "out.mp4").read_bytes()[:4096]
    assert b"moov" in head and (b"mdat" not in head or head.find(b"moov") < head.find(b"mdat"))  # faststart


def test_audio_that_mp4_cannot_carry_is_reencoded_to_aac(
    pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path
) -> None:
    run(pipeline, clips["pcm"], tmp_path / "out.mp4")
    after = probe(tmp_path / "out.mp4")
    samples = audio_samples(tmp_path / "out.mp4")

    assert after.audio == ["aac"] and after.frames == 25
    assert samples.size / 44100 == pytest.approx(1.0, abs=0.05)
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(samples.size, 1 / 44100)[spectrum.argmax()] == pytest.approx(TONE_HZ, abs=3)


def test_every_face_frame_is_listed_blurred_and_counted_as_one_face(
    pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path
) -> None:
    clip = clips["face"]
    summary, records = run(pipeline, clip, tmp_path / "out.mp4")
    before, after = upright_frames(clip.path), upright_frames(tmp_path / "out.mp4")

    assert summary.faces == {"with_mask": 0, "without_mask": 1, "incorrect_mask": 0}
    assert summary.face_frames["without_mask"] == 50
    assert {face["track"] for r in records for face in r.faces} == {1}
    for record in records:
        for eye in clip.eyes(record.frame):
            assert inside(eye, record.blurred), record.frame
            assert change_at(before[record.frame], after[record.frame], eye) > 8, record.frame


def test_blur_off_leaves_faces_visible_and_lists_no_region(pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path) -> None:
    clip = clips["face"]
    summary, records = run(pipeline, clip, tmp_path / "out.mp4", blur=False)

    assert all(r.blurred == [] for r in records) and summary.face_frames["without_mask"] == 50


class FlickeringDetector:
    """The real detector, except that it finds nothing on the chosen calls (a detector flicker)."""

    def __init__(self, inner, misses: set[int]) -> None:
        self.inner, self.misses, self.calls = inner, misses, 0
        self.name = inner.name

    def detect(self, image: np.ndarray) -> list[Face]:
        call, self.calls = self.calls, self.calls + 1
        return [] if call in self.misses else self.inner.detect(image)


def test_a_detector_flicker_never_shows_a_face(pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path) -> None:
    clip = clips["face"]
    misses = {5, 10, 11, 12, 20, 21, 22, 23, 24, 30, 40, 42, 44}
    flicker = Pipeline(pipeline.settings, classifier=pipeline.classifier,
                       detector=FlickeringDetector(pipeline.detector, misses))
    summary, records = run(flicker, clip, tmp_path / "out.mp4")
    before, after = upright_frames(clip.path), upright_frames(tmp_path / "out.mp4")

    assert {r.frame for r in records if not r.faces} == misses  # the detector really missed these frames
    for record in records:
        for eye in clip.eyes(record.frame):
            assert inside(eye, record.blurred), record.frame
            assert change_at(before[record.frame], after[record.frame], eye) > 8, record.frame
    assert summary.faces["without_mask"] == 1  # the face kept its track across the gaps


def test_a_phone_clip_keeps_its_rotation_and_the_blur_lands_on_the_upright_face(
    pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path
) -> None:
    clip = clips["phone"]
    summary, records = run(pipeline, clip, tmp_path / "out.mp4")
    before, after = probe(clip.path), probe(tmp_path / "out.mp4")
    original, output = upright_frames(clip.path), upright_frames(tmp_path / "out.mp4")

    assert before.rotation == after.rotation == 270
    assert (after.width, after.height) == (summary.width, summary.height) == (240, 320)
    assert after.frames == before.frames and output[0].shape == (320, 240, 3)
    assert summary.face_frames["without_mask"] == before.frames
    for record in records[::10]:
        for eye in clip.eyes(record.frame):
            assert inside(eye, record.blurred)
            assert change_at(original[record.frame], output[record.frame], eye) > 8


def test_a_clip_without_a_face_comes_back_unchanged_but_for_encoding(
    pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path
) -> None:
    clip = clips["no_face"]
    summary, records = run(pipeline, clip, tmp_path / "out.mp4")
    before, after = upright_frames(clip.path), upright_frames(tmp_path / "out.mp4")

    assert summary.faces == {"with_mask": 0, "without_mask": 0, "incorrect_mask": 0}
    assert all(r.faces == [] and r.blurred == [] for r in records)
    assert len(after) == len(before) == 25
    assert max(float(np.abs(a.astype(np.int16) - b).mean()) for a, b in zip(before, after)) < 2.0


def test_files_that_are_not_whole_videos_raise_a_clear_error(
    pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path, test_data: Path
) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    bad = [write_corrupt(tmp_path / "corrupt.mp4"), write_truncated(clips["face"].path, tmp_path / "cut.mp4"),
           empty, test_data / "astronaut.jpg", tmp_path / "missing.mp4"]
    for path in bad:
        with pytest.raises(VideoError) as error:
            anonymize_video(pipeline, path, tmp_path / "out.mp4")
        assert str(error.value) and "Traceback" not in str(error.value)
    assert not list(tmp_path.glob("*out.mp4*"))  # no partial output left behind


def test_output_must_be_a_known_container_and_not_the_input(
    pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path
) -> None:
    with pytest.raises(VideoError, match="must end in"):
        anonymize_video(pipeline, clips["no_face"].path, tmp_path / "out.avi")
    with pytest.raises(VideoError, match="overwrite"):
        anonymize_video(pipeline, clips["no_face"].path, clips["no_face"].path)


def test_app_limits_refuse_a_clip_longer_than_allowed(tmp_path: Path) -> None:
    settings = Settings(video_max_seconds=3.0)
    long = probe(write_clip(tmp_path / "long.mp4", seconds=4.0, fps=5, width=160, height=120, audio=False).path)
    short = probe(write_clip(tmp_path / "short.mp4", seconds=3.0, fps=5, width=160, height=120, audio=False).path)

    with pytest.raises(VideoError, match="4.0 s long; the limit is 3 s"):
        check_limits(long, settings)
    check_limits(short, settings)
    with pytest.raises(VideoError, match="larger than"):
        check_limits(short, settings.replace(video_max_pixels=100 * 100))


def test_nothing_is_carried_across_a_scene_cut(pipeline: Pipeline, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "shot1.mp4", seconds=0.8, audio=False)
    path = tmp_path / "cut.mp4"
    with av.open(str(path), "w") as container:  # the face shot, then a cut to an empty blue room
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        room = np.zeros((240, 320, 3), dtype=np.uint8)
        room[:] = (40, 60, 160)
        for index, image in enumerate(upright_frames(clip.path) + [room] * 12):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    summary, records = run(pipeline, Clip(path, 320, 240, clip.fps, 32, 0, False, clip.boxes), tmp_path / "out.mp4")

    assert all(r.faces and r.blurred for r in records[:20])
    assert all(r.blurred == [] for r in records[20:])  # without the cut the face's blur would follow for 8 frames
    # the face is one track through its shot (a stray low-score detection elsewhere may be a track of its own)
    def holds_the_eyes(face: dict, index: int) -> bool:
        x, y, w, h = face["box"]
        return all(x <= ex <= x + w and y <= ey <= y + h for ex, ey in clip.eyes(index))

    face_tracks = {f["track"] for i, r in enumerate(records[:20]) for f in r.faces if holds_the_eyes(f, i)}
    assert len(face_tracks) == 1
    assert sum(summary.face_frames.values()) == sum(len(r.faces) for r in records[:20])


def test_without_the_cut_rule_the_blur_would_spill_into_the_next_shot(pipeline: Pipeline, tmp_path: Path) -> None:
    blind = Pipeline(pipeline.settings.replace(video_cut_threshold=1.0), classifier=pipeline.classifier,
                     detector=pipeline.detector)
    with pytest.raises(AssertionError):
        test_nothing_is_carried_across_a_scene_cut(blind, tmp_path)


def test_frames_analysed_several_at_once_give_the_same_video_and_records(
    pipeline: Pipeline, clips: dict[str, Clip], tmp_path: Path
) -> None:
    clip = clips["face"]
    outputs = {}
    for workers in (1, 3):
        concurrent = Pipeline(pipeline.settings.replace(video_workers=workers), classifier=pipeline.classifier,
                              detector=pipeline.detector)
        summary, records = run(concurrent, clip, tmp_path / f"out{workers}.mp4")
        with av.open(str(tmp_path / f"out{workers}.mp4")) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        outputs[workers] = (summary.faces, summary.face_frames, records, frames)
    one, three = outputs[1], outputs[3]
    assert one[2] and any(r.faces for r in one[2])
    assert one[:3] == three[:3]
    assert len(one[3]) == len(three[3]) == clip.frames
    assert all(np.array_equal(a, b) for a, b in zip(one[3], three[3]))


def test_still_image_passes_can_run_on_every_nth_frame_only(pipeline: Pipeline, monkeypatch, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", seconds=0.4, fps=25, width=160, height=120, audio=False)
    thorough: list[bool] = []
    sparse = Pipeline(pipeline.settings.replace(video_thorough_every=3, video_workers=1),
                      classifier=pipeline.classifier, detector=pipeline.detector)
    analyze = sparse.analyze
    monkeypatch.setattr(sparse, "analyze", lambda image, **kw: (thorough.append(kw["thorough"]), analyze(image, **kw))[1])
    run(sparse, clip, tmp_path / "out.mp4")
    assert thorough == [i % 3 == 0 for i in range(clip.frames)]
