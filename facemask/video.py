"""Video files: every frame through the pipeline and the tracker, out as an anonymised, annotated video.

Frames stream through (decode -> :meth:`Pipeline.analyze`, one frame per core at once -> :class:`FaceTracker` -> a short
:class:`Lookback` buffer -> blur, then boxes and labels -> encode), so memory stays bounded however
long the video: a face the detector misses stays blurred for a few frames after it was last found
(carried along its motion) and, thanks to the buffer, for a few frames before it was found; at a
scene cut (a jump of the colour histogram) tracks end and nothing is carried across. The output keeps the input's
resolution, frame count, timestamps (so frame rate and duration) and rotation: frames are turned
upright for the detector, annotated upright, turned back and written with the input's rotation
metadata, so players show them upright with the boxes on the faces, and every coordinate reported
is in the upright picture. Audio streams are copied packet for packet, or re-encoded to AAC when the
output container cannot carry their codec. Video is H.264 (libx264, yuv420p, ``video_crf``) in MP4
with the index at the front (faststart) so browsers play it while downloading.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator

import av
import cv2
import numpy as np

from .config import BlurMode, Settings
from .labels import LABELS
from .ordered import map_in_order, worker_count
from .pipeline import DetectionResult, Pipeline
from .tracking import FaceTracker, Lookback, TrackedFrame

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts",
                            ".m2ts", ".3gp", ".wmv", ".flv", ".ogv"})
"""File names taken as videos when a folder is given."""
OUTPUT_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
COPYABLE_AUDIO = {
    "mp4": {"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"},
    "mov": {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    "matroska": None,  # any codec
}
"""Audio codecs each output container takes as they are (others are re-encoded to AAC)."""


class VideoError(Exception):
    """A video that cannot be read, is over a limit, or cannot be written (the message says which)."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds; ``width`` and ``height`` are of the upright picture."""

    width: int
    height: int
    fps: float
    frames: int
    """Frame count from the container (estimated from duration x fps when the container has none)."""
    duration: float
    rotation: int
    """Degrees (counter-clockwise) the stored frames are turned to be shown upright."""
    audio: list[str]
    """Codec of each audio stream."""
    size_bytes: int


@dataclass
class FrameRecord:
    """One processed frame: the ``--frames-jsonl`` line."""

    frame: int
    time: float
    faces: list[dict[str, Any]]
    blurred: list[list[int]]

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "time": self.time, "faces": self.faces, "blurred": self.blurred}


@dataclass
class VideoSummary:
    """What came out: the CLI's JSON line per input."""

    path: str
    out: str
    frames: int
    fps: float
    width: int
    height: int
    duration: float
    faces: dict[str, int]
    """Distinct faces (tracks) per label."""
    face_frames: dict[str, int]
    """Frames x faces per label (a face seen in 30 frames counts 30)."""
    audio: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "out": self.out, "frames": self.frames, "fps": self.fps, "width": self.width,
                "height": self.height, "duration": self.duration, "faces": self.faces,
                "face_frames": self.face_frames}


def _open_input(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise VideoError(f"no such file: {path}")
    try:
        container = av.open(str(path), "r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"not a readable video ({_reason(exc)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError("the file holds no video stream")
    if container.format.name.startswith("image2") or container.format.name.endswith("_pipe"):
        container.close()
        raise VideoError("this is a still image, not a video (use detect for photos)")
    return container


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() if text else type(exc).__name__


def _rate(stream: av.video.stream.VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return Fraction(rate) if rate else Fraction(25)


def _first_frame(container: av.container.InputContainer) -> av.VideoFrame:
    try:
        return next(container.decode(video=0))
    except StopIteration:
        raise VideoError("the video stream holds no frame") from None
    except av.error.FFmpegError as exc:
        raise VideoError(f"cannot decode the video ({_reason(exc)})") from None


def probe(path: Path | str) -> VideoInfo:
    """Read a video's size, frame rate, frame count, duration, rotation and audio (decodes one frame)."""
    path = Path(path)
    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        first = _first_frame(container)
        rate = _rate(stream)
        duration = _duration(container, stream)
        frames = stream.frames or int(round(duration * float(rate)))
        rotation = _rotation(first)
        width, height = first.width, first.height
        if rotation % 180:
            width, height = height, width
        audio = [s.codec_context.name for s in container.streams.audio]
        return VideoInfo(width, height, round(float(rate), 3), frames, round(duration, 3), rotation, audio,
                         path.stat().st_size)
    finally:
        container.close()


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _rotation(frame: av.VideoFrame) -> int:
    """The frame's display rotation rounded to a quarter turn (0, 90, 180, 270)."""
    try:
        degrees = float(frame.rotation or 0)
    except (AttributeError, ValueError):
        return 0
    return int(round(degrees / 90.0)) % 4 * 90


def check_limits(info: VideoInfo, settings: Settings) -> None:
    """Raise :class:`VideoError` when a video is over the app's limits (length, frame size, file size)."""
    if info.size_bytes > settings.video_max_bytes:
        raise VideoError(f"the file is larger than {settings.video_max_bytes // 2**20} MB")
    if info.duration > settings.video_max_seconds + 0.5 / max(info.fps, 1.0):
        raise VideoError(f"the video is {info.duration:.1f} s long; the limit is {settings.video_max_seconds:g} s")
    if info.width * info.height > settings.video_max_pixels:
        raise VideoError(f"frames of {info.width}x{info.height} are larger than the limit "
                         f"({settings.video_max_pixels / 1e6:.1f} megapixels)")


def output_path(source: Path, out: Path, several: bool) -> Path:
    """Where the output of ``source`` goes: ``out`` itself for one input, ``out/<stem>.mp4`` for several
    (or when ``out`` is an existing folder)."""
    if several or out.is_dir():
        return out / f"{source.stem}.mp4"
    return out


class _Writer:
    """The output container: H.264 video at the input's size and time base, audio copied or re-encoded."""

    def __init__(self, dst: Path, source: av.container.InputContainer, first: av.VideoFrame,
                 rotation: int, settings: Settings) -> None:
        fmt = OUTPUT_FORMATS.get(dst.suffix.lower())
        if fmt is None:
            raise VideoError(f"the output must end in {', '.join(OUTPUT_FORMATS)}; got {dst.name!r}")
        if first.width % 2 or first.height % 2:
            raise VideoError(f"frames of {first.width}x{first.height}: H.264 in yuv420p needs even sizes")
        self.path = dst
        self.partial = dst.with_name(f".{dst.name}.part")
        options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
        self.container = av.open(str(self.partial), "w", format=fmt, options=options)
        in_video = source.streams.video[0]
        self.video = self.container.add_stream("libx264", rate=_rate(in_video))
        self.video.width, self.video.height, self.video.pix_fmt = first.width, first.height, "yuv420p"
        self.video.time_base = in_video.time_base
        self.video.codec_context.time_base = in_video.time_base
        self.video.options = {"crf": str(settings.video_crf), "preset": settings.video_preset}
        if in_video.sample_aspect_ratio:
            self.video.sample_aspect_ratio = in_video.sample_aspect_ratio
        if rotation:
            self.video.set_display_rotation(rotation)
        self.audio: dict[int, tuple[Any, bool]] = {}
        self.resamplers: dict[int, av.AudioResampler] = {}
        copyable = COPYABLE_AUDIO[fmt]
        for stream in source.streams.audio:
            name = stream.codec_context.name
            if copyable is None or name in copyable:
                self.audio[stream.index] = (self.container.add_stream_from_template(stream), True)
            else:
                channels = stream.codec_context.layout.nb_channels if stream.codec_context.layout else 2
                layout = {1: "mono", 2: "stereo"}.get(channels, stream.codec_context.layout.name)
                rate = stream.codec_context.sample_rate or 48000
                out = self.container.add_stream("aac", rate=rate, layout=layout)
                self.audio[stream.index] = (out, False)
                self.resamplers[stream.index] = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        self.audio_codecs = [s.codec_context.name for s, _ in self.audio.values()]

    def video_frame(self, rgb: np.ndarray, pts: int | None, time_base: Fraction) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        self.container.mux(self.video.encode(frame))

    def audio_packet(self, packet: av.Packet) -> None:
        out, copy = self.audio[packet.stream.index]
        if copy:
            if packet.dts is None:
                return
            packet.stream = out
            self.container.mux(packet)
        else:
            resampler = self.resamplers[packet.stream.index]
            for frame in packet.decode():
                for converted in resampler.resample(frame):
                    converted.pts = None
                    self.container.mux(out.encode(converted))

    def close(self) -> None:
        self.container.mux(self.video.encode(None))
        for index, (out, copy) in self.audio.items():
            if not copy:
                for converted in self.resamplers[index].resample(None):
                    converted.pts = None
                    self.container.mux(out.encode(converted))
                self.container.mux(out.encode(None))
        self.container.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the error being reported is the one that matters
            pass
        self.partial.unlink(missing_ok=True)


def anonymize_video(
    pipeline: Pipeline,
    source: Path | str,
    dest: Path | str,
    threshold: float | None = None,
    blur: bool | None = None,
    blur_mode: BlurMode | None = None,
    on_frame: Callable[[FrameRecord], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    draw: bool = True,
) -> VideoSummary:
    """Anonymise and annotate ``source`` into ``dest``; ``on_frame`` gets each frame's record,
    ``progress`` ``(frames done, frames expected)``; ``draw=False`` pixelates only (no boxes or labels).
    Raises :class:`VideoError` for a bad input."""
    source, dest = Path(source), Path(dest)
    settings = pipeline.settings
    blur = settings.blur if blur is None else blur
    if dest.resolve() == source.resolve():
        raise VideoError("the output would overwrite the input")
    dest.parent.mkdir(parents=True, exist_ok=True)
    info = probe(source)
    container = _open_input(source)
    writer: _Writer | None = None
    tracker = FaceTracker(settings)
    face_frames: Counter[str] = Counter()
    count, start_time, pts_step = 0, None, None
    time_base = Fraction(1, 90000)
    last_pts: int | None = None
    previous: np.ndarray | None = None
    lookback: Lookback[_Frame] = Lookback(settings.video_lookback_frames if blur else 0, settings.track_carry_growth)
    written = 0

    def emit(frame: _Frame, tracked: TrackedFrame) -> None:
        nonlocal written
        assert writer is not None
        record = _finish(pipeline, writer, frame, tracked, time_base, face_frames, draw)
        written += 1
        if on_frame is not None:
            on_frame(record)
        if progress is not None:
            progress(written, max(info.frames, count))

    def track(frame: _Frame, result: DetectionResult) -> None:
        """The next frame in order: its detections through the tracker and the lookback buffer."""
        if frame.cut:
            tracker.cut()  # a new shot: nothing carried into it, nothing filled back out of it
            for ready, tracked in lookback.flush():
                emit(ready, tracked)
        for ready, tracked in lookback.push(frame, tracker.update(result, frame.time, blur=blur)):
            emit(ready, tracked)

    def decoded() -> Iterator[_Frame]:
        """The video's frames, upright, in order; audio packets go to the writer on the way."""
        nonlocal writer, count, start_time, last_pts, previous
        pending_audio: list[av.Packet] = []
        for packet in container.demux(in_video, *container.streams.audio):
            if packet.stream.type == "audio":
                if writer is None:
                    pending_audio.append(packet)
                else:
                    writer.audio_packet(packet)
                continue
            for frame in packet.decode():
                if writer is None:
                    writer = _Writer(dest, container, frame, _rotation(frame), settings)
                    for early in pending_audio:
                        writer.audio_packet(early)
                    pending_audio.clear()
                pts = frame.pts if frame.pts is not None else (last_pts + pts_step if last_pts is not None else 0)
                last_pts = pts
                start_time = pts if start_time is None else start_time
                turns = _rotation(frame) // 90
                image = frame.to_ndarray(format="rgb24")
                if turns:
                    image = np.ascontiguousarray(np.rot90(image, turns))
                signature = _signature(image)
                cut = previous is not None and _changed(previous, signature) > settings.video_cut_threshold
                previous = signature
                count += 1
                yield _Frame(image, turns, pts, count - 1, float((pts - start_time) * time_base), cut)

    def analysed(frame: _Frame) -> tuple[_Frame, DetectionResult]:
        return frame, _detect(pipeline, frame, threshold, blur, blur_mode)

    try:
        in_video = container.streams.video[0]
        in_video.thread_type = "AUTO"
        time_base = in_video.time_base or Fraction(1, 90000)
        rate = _rate(in_video)
        pts_step = max(int(round(1 / (rate * time_base))), 1)
        # Frames are detected and classified one per core at once (ONNX Runtime and OpenCV release the GIL);
        # tracking, blur and encoding take them in order, so the output does not depend on the worker count.
        # closing(): on an error in tracking or encoding, queued frames are dropped now, not when collected
        with closing(map_in_order(analysed, decoded(), worker_count(settings.video_workers), "facemask-video")) as results:
            for frame, result in results:
                track(frame, result)
        if writer is None:
            raise VideoError("the video stream holds no frame")
        for ready, tracked in lookback.flush():
            emit(ready, tracked)
        writer.close()
    except av.error.FFmpegError as exc:
        if writer is not None:
            writer.abort()
        raise VideoError(f"the video could not be processed after {count} frames ({_reason(exc)})") from None
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        container.close()
    duration = info.duration or (count / float(rate) if rate else 0.0)
    return VideoSummary(
        path=str(source), out=str(dest), frames=count, fps=info.fps, width=info.width, height=info.height,
        duration=duration, faces=tracker.track_labels(), face_frames={label: face_frames[label] for label in LABELS},
        audio=writer.audio_codecs,
    )


@dataclass
class _Frame:
    """A decoded frame waiting in the lookback buffer."""

    image: np.ndarray  # upright RGB
    turns: int
    pts: int
    index: int
    time: float
    cut: bool = False
    """The first frame of a new shot (a scene cut before it)."""


def _detect(
    pipeline: Pipeline, frame: _Frame, threshold: float | None, blur: bool, blur_mode: BlurMode | None,
) -> DetectionResult:
    """Detect and classify (every ``video_detect_every``-th frame; the others get no detections)."""
    height, width = frame.image.shape[:2]
    settings = pipeline.settings
    if frame.index % settings.video_detect_every == 0:
        thorough = settings.video_thorough_every > 0 and (
            frame.index // settings.video_detect_every) % settings.video_thorough_every == 0
        return pipeline.analyze(frame.image, threshold=threshold, blur=blur, blur_mode=blur_mode, thorough=thorough)
    return DetectionResult(width, height, [], pipeline.detector.name, pipeline.classifier.runtime)


def _signature(image: np.ndarray) -> np.ndarray:
    """Normalised 16-bin histograms of R, G and B of a 64x48 thumbnail (for scene cuts)."""
    small = cv2.resize(image, (64, 48), interpolation=cv2.INTER_AREA)
    hist = np.concatenate([np.bincount(small[..., k].ravel() >> 4, minlength=16) for k in range(3)])
    return hist / hist.sum()


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the histogram that moved (total variation distance, 0 to 1)."""
    return float(np.abs(a - b).sum() / 2)


def _finish(pipeline: Pipeline, writer: _Writer, frame: _Frame, tracked: TrackedFrame, time_base: Fraction,
            face_frames: Counter[str], draw: bool = True) -> FrameRecord:
    """Blur, draw (unless ``draw`` is false), turn back to the stored orientation, encode; the frame's record."""
    rendered = pipeline.render(frame.image, tracked.result, draw=draw)
    if frame.turns:
        rendered = np.ascontiguousarray(np.rot90(rendered, -frame.turns))
    writer.video_frame(rendered, frame.pts, time_base)
    faces = []
    for face, track_id in zip(tracked.result.faces, tracked.track_ids):
        face_frames[face.label] += 1
        faces.append({**face.to_dict(), "track": track_id})
    return FrameRecord(frame.index, round(frame.time, 6), faces, [list(map(int, r)) for r in tracked.result.blurred])


def iter_video_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders expanded to the videos in them (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES))
        else:
            found.append(path)
    return found

