"""Generated test clips (nothing committed): the test astronaut moving across frames, a sine sound track.

``write_clip`` makes an H.264 clip from ``tests/data/astronaut*.jpg`` (scikit-image's public-domain
photo) sliding across a grey background, optionally with an audio track (440 Hz sine), stored
rotated with display-rotation metadata as phones do, or with no face at all. ``write_corrupt``
and ``write_truncated`` make files that are not (whole) videos. Run as a script to write a few into
a folder for a look: ``python -m tests.clips OUT_DIR``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from facemask.io import load_image

DATA = Path(__file__).resolve().parent / "data"
SAMPLE_RATE = 44100
TONE_HZ = 440.0
EYES = ((0.45, 0.32), (0.585, 0.32))
"""The astronaut's eyes in the face tile, as fractions of its side (read off the detector's landmarks)."""


@dataclass(frozen=True)
class Clip:
    """A written clip and what it should hold (``boxes``: the face's box per frame, upright pixels)."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frames: int
    rotation: int
    audio: bool
    boxes: list[tuple[int, int, int, int]]

    def eyes(self, index: int) -> list[tuple[float, float]]:
        """Where the face's eyes are in frame ``index`` (upright pixels)."""
        x, y, side, _ = self.boxes[index]
        return [(x + ex * side, y + ey * side) for ex, ey in EYES]


def face_tile(side: int, masked: bool = False) -> np.ndarray:
    """Head and shoulders of the astronaut, ``side`` x ``side`` pixels."""
    photo = load_image(DATA / ("astronaut_masked.jpg" if masked else "astronaut.jpg"))
    return cv2.resize(photo[0:320, 60:380], (side, side), interpolation=cv2.INTER_AREA)


def moving_face(width: int, height: int, frames: int, face: bool, masked: bool = False):
    """Yield ``(RGB frame, face box or None)``: the face slides left to right and a little down."""
    side = int(min(width, height) * 0.6)
    tile = face_tile(side, masked) if face else None
    for i in range(frames):
        canvas = np.full((height, width, 3), 110, dtype=np.uint8)
        cv2.rectangle(canvas, (0, height - 20), (width, height), (70, 90, 70), cv2.FILLED)
        box = None
        if tile is not None:
            t = i / max(frames - 1, 1)
            x = int(round(0.05 * width + t * (width - side - 0.1 * width)))
            y = int(round(0.1 * height + 0.1 * t * height))
            canvas[y : y + side, x : x + side] = tile
            box = (x, y, side, side)
        yield canvas, box


def write_clip(
    path: Path,
    seconds: float = 2.0,
    fps: int = 25,
    width: int = 320,
    height: int = 240,
    face: bool = True,
    masked: bool = False,
    audio: bool = True,
    rotation: int = 0,
    audio_codec: str = "aac",
) -> Clip:
    """Write a clip: H.264 yuv420p; ``rotation`` (degrees, counter-clockwise to show it upright) stores the
    frames turned the other way with that display rotation; ``audio_codec`` ``pcm_s16le`` needs ``.mkv``."""
    frames = int(round(seconds * fps))
    turns = rotation // 90
    stored_w, stored_h = (height, width) if turns % 2 else (width, height)
    boxes: list[tuple[int, int, int, int]] = []
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = stored_w, stored_h, "yuv420p"
        video.options = {"crf": "20", "preset": "veryfast"}
        if rotation:
            video.set_display_rotation(rotation)
        sound = container.add_stream(audio_codec, rate=SAMPLE_RATE, layout="mono") if audio else None
        for index, (image, box) in enumerate(moving_face(width, height, frames, face, masked)):
            if box is not None:
                boxes.append(box)
            stored = np.ascontiguousarray(np.rot90(image, -turns)) if turns else image
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            samples = int(round(seconds * SAMPLE_RATE))
            tone = (0.3 * np.sin(2 * np.pi * TONE_HZ * np.arange(samples) / SAMPLE_RATE)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="flt", layout="mono")
                chunk.sample_rate, chunk.pts = SAMPLE_RATE, start
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return Clip(path, width, height, Fraction(fps), frames, rotation % 360, audio, boxes)


def upright_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video as upright RGB (its display rotation applied)."""
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            turns = int(round((frame.rotation or 0) / 90)) % 4
            frames.append(np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), turns)))
        return frames


def write_corrupt(path: Path) -> Path:
    """A file named like a video holding random bytes after a plausible MP4 header."""
    rng = np.random.default_rng(0)
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    return path


def write_truncated(source: Path, path: Path, keep: float = 0.5) -> Path:
    """The first ``keep`` share of a real clip's bytes (the rest cut off, as by a failed download)."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("test-artifacts/clips")
    out.mkdir(parents=True, exist_ok=True)
    print(write_clip(out / "face.mp4").path)
    print(write_clip(out / "phone.mp4", rotation=270, width=240, height=320).path)
    print(write_clip(out / "no_face.mp4", face=False).path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
