"""Face detection behind one small interface, with two back-ends.

* :class:`YuNetDetector` - OpenCV's YuNet through ``cv2.FaceDetectorYN`` (fast). Its ONNX file
  comes from a configured local path, or from the Hub when it is reachable.
* :class:`YufaceDetector` - libfacedetection's CNN from the ``yuface`` wheel (weights compiled in,
  so it always works offline; slower).

Both return :class:`Face` objects in pixels of the image they were given, with the five
landmarks (right eye, left eye, nose tip, right and left mouth corners, as seen in the image:
the person's right eye is on the image's left). Small images are upscaled before detection so
small faces are found; large ones are downscaled for speed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import cv2
import numpy as np

from .config import Settings

if TYPE_CHECKING:
    from .yunet_onnx import YuNetOnnx

log = logging.getLogger(__name__)

# OpenCV 5 warns on every YuNet load that its new graph engine ignores the target; not actionable.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@dataclass(frozen=True)
class Face:
    """One detected face. ``box`` is ``(x, y, w, h)``; ``landmarks`` is a 5 x 2 array or ``None``."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = None

    def scaled(self, factor: float) -> "Face":
        """The same face in an image scaled by ``factor``."""
        box = tuple(v * factor for v in self.box)
        landmarks = None if self.landmarks is None else self.landmarks * factor
        return Face(box=box, score=self.score, landmarks=landmarks)  # type: ignore[arg-type]


class FaceDetector(Protocol):
    """Anything that finds faces in an RGB uint8 image."""

    name: str

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in ``image`` (H x W x 3 RGB uint8), best first."""
        ...


def detection_scale(width: int, height: int, settings: Settings) -> float:
    """Factor by which an image is resized before detection (upscale small, downscale huge)."""
    longest = max(width, height)
    if longest < settings.detect_min_side:
        return min(settings.detect_min_side / longest, 3.0)
    if longest > settings.detect_max_side:
        return settings.detect_max_side / longest
    return 1.0


def _clip_faces(faces: list[Face], width: int, height: int, settings: Settings) -> list[Face]:
    """Clip boxes to the image, drop tiny ones, sort by score and cap the count."""
    kept: list[Face] = []
    for face in faces:
        x, y, w, h = face.box
        x0, y0 = max(x, 0.0), max(y, 0.0)
        x1, y1 = min(x + w, float(width)), min(y + h, float(height))
        if x1 - x0 < settings.min_face_px or y1 - y0 < settings.min_face_px:
            continue
        kept.append(Face((x0, y0, x1 - x0, y1 - y0), face.score, face.landmarks))
    kept.sort(key=lambda f: f.score, reverse=True)
    return kept[: settings.max_faces]


class _ScalingDetector:
    """Shared resize-detect-rescale logic; subclasses implement :meth:`_detect_scaled` on BGR."""

    name = "base"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _detect_scaled(self, bgr: np.ndarray) -> list[Face]:
        raise NotImplementedError

    def detect(self, image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        return self.detect_at(image, detection_scale(width, height, self.settings))

    def detect_at(self, image: np.ndarray, scale: float) -> list[Face]:
        """Faces in ``image`` (RGB) resized by ``scale`` for the network, in ``image``'s pixels."""
        height, width = image.shape[:2]
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        if scale != 1.0:
            size = (max(int(round(width * scale)), 1), max(int(round(height * scale)), 1))
            flag = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
            bgr = cv2.resize(bgr, size, interpolation=flag)
        faces = [f.scaled(1.0 / scale) for f in self._detect_scaled(bgr)]
        return _clip_faces(faces, width, height, self.settings)


class YuNetDetector(_ScalingDetector):
    """YuNet, run by ONNX Runtime (:mod:`facemask.yunet_onnx`, faster) or else ``cv2.FaceDetectorYN``.

    ``engine="opencv"`` forces OpenCV's engine (for comparison); ``auto`` prefers ONNX Runtime.

    Thread-safe: one shared ONNX Runtime session, or one OpenCV detector per thread.
    """

    name = "yunet"

    def __init__(self, model_path: str | Path, settings: Settings, engine: Literal["auto", "opencv"] = "auto") -> None:
        super().__init__(settings)
        self.model_path = str(model_path)
        self._local = threading.local()
        self._onnx = _onnx_yunet(self.model_path, settings) if engine == "auto" else None
        if self._onnx is None:
            self._instance()  # fail now, not on the first request, if the file is unusable

    @property
    def engine(self) -> str:
        """What runs the graph: ``onnxruntime`` or ``opencv``."""
        return "opencv" if self._onnx is None else "onnxruntime"

    def _instance(self) -> cv2.FaceDetectorYN:
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = cv2.FaceDetectorYN.create(
                self.model_path,
                "",
                (320, 320),
                self.settings.detection_threshold,
                self.settings.nms_threshold,
                5000,
            )
            self._local.detector = detector
        return detector

    def _detect_scaled(self, bgr: np.ndarray) -> list[Face]:
        if self._onnx is not None:
            rows = self._onnx.detect(bgr)
        else:
            detector = self._instance()
            detector.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, rows = detector.detect(bgr)
            if rows is None:
                return []
        return [
            Face(
                box=(float(r[0]), float(r[1]), float(r[2]), float(r[3])),
                score=float(r[14]),
                landmarks=np.asarray(r[4:14], dtype=np.float32).reshape(5, 2),
            )
            for r in rows
        ]


def _onnx_yunet(model_path: str, settings: Settings) -> "YuNetOnnx | None":
    """YuNet on ONNX Runtime, or ``None`` (OpenCV runs it instead) when that cannot load."""
    try:
        from .yunet_onnx import YuNetOnnx

        return YuNetOnnx(model_path, settings.detection_threshold, settings.nms_threshold, threads=settings.onnx_threads)
    except Exception as exc:  # no onnxruntime, or a graph it rejects: OpenCV's engine still works
        log.warning("YuNet on ONNX Runtime unavailable (%s: %s); using OpenCV's engine", type(exc).__name__, exc)
        return None


class YufaceDetector(_ScalingDetector):
    """libfacedetection via the ``yuface`` wheel; serialised, since the C library is not re-entrant."""

    name = "yuface"
    _lock = threading.Lock()

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        import yuface  # imported lazily: it loads its own OpenMP runtime

        self._yuface = yuface

    def _detect_scaled(self, bgr: np.ndarray) -> list[Face]:
        with self._lock:
            confs, boxes, landmarks = self._yuface.detect(np.ascontiguousarray(bgr), conf=self.settings.detection_threshold)
        faces = []
        for conf, box, marks in zip(confs, boxes, landmarks):
            x, y, w, h = (float(v) for v in np.asarray(box, dtype=np.int32))
            faces.append(
                Face(
                    box=(x, y, w, h),
                    score=float(conf) / 100.0,
                    landmarks=np.asarray(marks, dtype=np.float32).reshape(5, 2),
                )
            )
        return faces


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


_MIRRORED_LANDMARKS = [1, 0, 2, 4, 3]
"""Landmark order after a horizontal flip: the eyes swap, and so do the mouth corners."""


def mirrored(face: Face, width: int) -> Face:
    """A face found in the horizontally flipped image, in the original image's pixels."""
    x, y, w, h = face.box
    landmarks = None
    if face.landmarks is not None:
        landmarks = face.landmarks[_MIRRORED_LANDMARKS].copy()
        landmarks[:, 0] = width - landmarks[:, 0]
    return Face((width - x - w, y, w, h), face.score, landmarks)


def vote_faces(passes: list[list[Face]], iou_threshold: float) -> list[tuple[Face, int]]:
    """Faces of several passes merged by place: the best-scoring face of each place and how many passes found it."""
    tagged = sorted(((f, i) for i, faces in enumerate(passes) for f in faces), key=lambda t: t[0].score, reverse=True)
    places: list[tuple[Face, set[int]]] = []
    for face, index in tagged:
        for best, found_by in places:
            if box_iou(face.box, best.box) > iou_threshold:
                found_by.add(index)
                break
        else:
            places.append((face, {index}))
    return [(face, len(found_by)) for face, found_by in places]


class FaceFinder:
    """The pipeline's face finding: one back-end run once, plus the passes that find what it misses.

    * Still images (``thorough``) get a second pass upscaled to ``detect_second_side`` px when that
      enlarges them (small faces in small photos), and a horizontally mirrored pass if
      ``detect_flip``. A face is kept when one pass scores it at least ``blur_threshold``, or when
      two passes agree on it with at least ``blur_agree_threshold`` (a lone low score is as often
      a pattern in the wallpaper as a face; two views agreeing mostly is a face).
    * Every image where nothing reaches ``min_score`` gets one more pass on the image padded by
      ``detect_pad_fallback`` of its longer side on each side (mid-grey): a close-up whose face fills
      the frame (chin or forehead cut off) becomes a face with context around it, which the detector finds.

    The webcam stream runs with ``thorough=False``: one pass per frame (plus the padded pass on a
    frame with no face).
    """

    def __init__(self, backend: _ScalingDetector, settings: Settings) -> None:
        self.backend = backend
        self.settings = settings
        self.name = backend.name

    def detect(self, image: np.ndarray, thorough: bool = True, min_score: float | None = None) -> list[Face]:
        """Faces in ``image`` (RGB uint8), best first; ``min_score`` decides whether the padded pass runs."""
        settings = self.settings
        height, width = image.shape[:2]
        base = detection_scale(width, height, settings)
        passes = [self.backend.detect_at(image, base)]
        if thorough:
            second = settings.detect_second_side / max(width, height)
            if settings.detect_second_side and second >= 1.25 * base:
                passes.append(self.backend.detect_at(image, second))
            if settings.detect_flip:
                flipped = np.ascontiguousarray(image[:, ::-1])
                passes.append([mirrored(f, width) for f in self.backend.detect_at(flipped, base)])
        faces = [
            face
            for face, votes in vote_faces(passes, settings.merge_iou)
            if face.score >= settings.blur_threshold or (votes >= 2 and face.score >= settings.blur_agree_threshold)
        ]
        floor = settings.detection_threshold if min_score is None else min_score
        if settings.detect_pad_fallback > 0 and not any(f.score >= floor for found in passes for f in found):
            # the padded view does not vote: only what it finds over the single-pass floor counts
            padded = [f for f in self._padded(image) if f.score >= settings.blur_threshold]
            faces = [face for face, _ in vote_faces([faces, padded], settings.merge_iou)]
        return _clip_faces(faces, width, height, settings)

    def _padded(self, image: np.ndarray) -> list[Face]:
        """Faces found after padding the image with mid-grey on every side."""
        height, width = image.shape[:2]
        pad = int(round(self.settings.detect_pad_fallback * max(width, height)))
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        found = self.backend.detect(padded)
        return [
            Face(
                (f.box[0] - pad, f.box[1] - pad, f.box[2], f.box[3]),
                f.score,
                None if f.landmarks is None else f.landmarks - np.float32(pad),
            )
            for f in found
        ]


def _hub_reachable(timeout_s: float = 2.0) -> bool:
    """Whether the Hub endpoint (``HF_ENDPOINT``) accepts a TCP connection within ``timeout_s``.

    Offline, huggingface_hub retries a download for about 25 s before giving up; this check answers
    in milliseconds, so an offline start falls back at once instead.
    """
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False


_HUB_FILES: dict[tuple[str, str], Path | None] = {}
"""Hub look-ups already made in this process (found file, or ``None``), so each is tried once."""


def _yunet_file(settings: Settings) -> Path | None:
    """The YuNet ONNX file: the configured local path, else the Hub (cache first, then download)."""
    local = Path(settings.yunet_path).expanduser()
    if local.is_file():
        return local
    key = (settings.yunet_repo_id, settings.yunet_filename)
    if key not in _HUB_FILES:
        _HUB_FILES[key] = _hub_file(*key)
        if _HUB_FILES[key] is None:
            log.info("YuNet not available from %s or the Hub", local)
    return _HUB_FILES[key]


def _hub_file(repo_id: str, filename: str) -> Path | None:
    """A Hub file from the local cache, else downloaded when the Hub is reachable, else ``None``."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id, filename, local_files_only=True))
    except Exception:  # not cached
        pass
    if not _hub_reachable():
        return None
    try:
        return Path(hf_hub_download(repo_id, filename, etag_timeout=5))
    except Exception as exc:  # repo moved, file renamed, offline after all: all mean "use the fallback"
        log.info("YuNet download failed (%s)", type(exc).__name__)
        return None


def create_detector(settings: Settings | None = None) -> FaceDetector:
    """The configured detector; with ``auto``, YuNet when its file can be found, else yuface."""
    settings = settings or Settings()
    if settings.detector in ("auto", "yunet"):
        path = _yunet_file(settings)
        if path is not None:
            return YuNetDetector(path, settings)
        if settings.detector == "yunet":
            raise FileNotFoundError(
                f"YuNet model not found at {settings.yunet_path} nor on the Hub "
                f"({settings.yunet_repo_id}/{settings.yunet_filename}); set FACEMASK_YUNET_PATH"
            )
        log.warning("YuNet model not found; falling back to the yuface detector (slower)")
    return YufaceDetector(settings)
