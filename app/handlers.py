"""What the app does with each request: read the upload, run the shared pipeline, shape the outputs.

The photo tab, the live webcam and the ``/detect`` API all go through :class:`Handlers`, so they
give the same answers. The events run with ``preprocess=False``: the upload reaches the core's own
safe loader (size limits, EXIF rotation, colour modes) instead of being decoded by Gradio first,
so every bad file gets a clear message. Nothing about faces or images is logged.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import threading
import time
from typing import Any

import gradio as gr
import numpy as np

from facemask import DetectionResult, ImageError, Pipeline
from facemask.tracking import FaceTracker
from facemask.labels import DISPLAY_NAMES, LABELS

log = logging.getLogger("facemask.app")

BLUR_MODES: list[tuple[str, str]] = [("Eyes and forehead", "eyes"), ("Whole face", "face")]
TABLE_HEADERS = ["Face", "Label", "Confidence", "Detection score", "Box (x, y, w, h)"]
NO_FACE_MESSAGE = "No face found. Try a larger or sharper photo, or lower the detection threshold."

Results = dict[str, Any]


def image_source(payload: Any, max_bytes: int) -> str | bytes | None:
    """The upload as a path in Gradio's cache, or the bytes of a ``data:`` URL; ``None`` when empty."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise gr.Error("Expected an image file.", title="Not an image", print_exception=False)
    if payload.get("path"):
        return str(payload["path"])
    url = payload.get("url") or ""
    if url.startswith("data:") and "," in url:
        encoded = url.split(",", 1)[1]
        if len(encoded) > max_bytes * 4 // 3 + 4:
            raise gr.Error(f"The file is larger than {max_bytes // 2**20} MB.", title="File too large", print_exception=False)
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise gr.Error("The image data is not valid base64.", title="Not an image", print_exception=False) from None
    return None


def most_prominent(faces: list[dict[str, Any]]) -> int:
    """Index of the largest face (by box area)."""
    return max(range(len(faces)), key=lambda i: faces[i]["box"][2] * faces[i]["box"][3])


def face_chart(results: Results | None, index: int | None = None) -> dict[str, Any]:
    """A ``gr.Label`` update with one face's class probabilities (default: the largest face)."""
    faces = (results or {}).get("faces") or []
    if not faces:
        return gr.Label(value=None, label="Confidence")
    chosen = most_prominent(faces) if index is None else index
    face = faces[chosen]
    which = "largest face" if index is None else "selected"
    scores = {DISPLAY_NAMES[label]: float(face["scores"][label]) for label in LABELS}
    return gr.Label(value=scores, label=f"Confidence: face #{chosen + 1} ({which})")


def face_rows(results: Results | None) -> list[list[Any]]:
    """One table row per face: number, label, confidence, detection score, box."""
    rows = []
    for number, face in enumerate((results or {}).get("faces") or [], start=1):
        label = face["label"]
        box = ", ".join(str(int(round(v))) for v in face["box"])
        rows.append([number, DISPLAY_NAMES[label], f"{face['scores'][label]:.1%}", f"{face['score']:.2f}", box])
    return rows


def summary_text(results: Results | None) -> str:
    """The one-line summary shown above the table."""
    if not results:
        return ""
    return f"**{results['summary']}**"


class Handlers:
    """The app's event functions around one shared, already-loaded :class:`Pipeline`."""

    def __init__(self, pipeline: Pipeline, frame_slots: int = 2) -> None:
        self.pipeline = pipeline
        # Webcam streams each hold a queue worker for their whole length (Gradio keeps only the newest
        # frame of each stream, dropping the ones that arrive while it is busy); this gate lets at most
        # ``frame_slots`` frames (one per core) be analysed at once, served in arrival order, so several
        # visitors take turns and each one's frame rate falls evenly as more join.
        self._frame_gate = threading.Semaphore(frame_slots)

    def _options(self, threshold: Any, blur: Any, blur_mode: Any) -> tuple[float, bool, str]:
        try:
            value = float(threshold)
        except (TypeError, ValueError):
            value = math.nan
        if not 0.0 < value < 1.0:
            raise gr.Error("The detection threshold must be between 0 and 1.", title="Bad setting", print_exception=False)
        modes = [mode for _, mode in BLUR_MODES]
        if blur_mode not in modes:
            raise gr.Error(f"The blur mode must be one of {', '.join(modes)}.", title="Bad setting", print_exception=False)
        return value, bool(blur), str(blur_mode)

    def check_options(self, threshold: Any, blur: Any, blur_mode: Any) -> tuple[float, bool, str]:
        """The checked threshold, blur switch and blur mode (a clear error for a bad one); the Video tab uses it too."""
        return self._options(threshold, blur, blur_mode)

    def _run(
        self, payload: Any, threshold: Any, blur: Any, blur_mode: Any, tracker: FaceTracker | None = None
    ) -> tuple[np.ndarray, DetectionResult] | None:
        source = image_source(payload, self.pipeline.settings.max_file_bytes)
        if source is None:
            return None
        value, blur_on, mode = self._options(threshold, blur, blur_mode)
        if tracker is None:
            return self._analyze(source, value, blur_on, mode, None)
        with self._frame_gate:
            return self._analyze(source, value, blur_on, mode, tracker)

    def _analyze(
        self, source: str | bytes, value: float, blur_on: bool, mode: str, tracker: FaceTracker | None
    ) -> tuple[np.ndarray, DetectionResult]:
        try:
            image = self.pipeline.load(source)
        except ImageError as exc:
            raise gr.Error(f"Cannot use this file: {exc}.", title="Not a usable image", print_exception=False) from None
        try:
            # a stream gets one detection pass per frame (fast); photos get the extra passes
            result = self.pipeline.analyze(image, threshold=value, blur=blur_on, blur_mode=mode,  # type: ignore[arg-type]
                                           thorough=tracker is None)
            if tracker is not None:  # a stream: carry the blur of faces missed in this frame, smooth labels
                result = tracker.update(result, time.monotonic(), blur=blur_on).result
            return self.pipeline.render(image, result), result
        except Exception as exc:  # one odd image must not take the server down; log the kind only
            log.error("analysis failed (%s)", type(exc).__name__)
            raise gr.Error("This image could not be analysed. Please try another one.", print_exception=False) from None

    def detect(self, image: Any, threshold: Any, blur: Any, blur_mode: Any) -> tuple[np.ndarray | None, Results | None]:
        """The ``/detect`` endpoint: the annotated, privacy-blurred image and the per-face results."""
        outcome = self._run(image, threshold, blur, blur_mode)
        if outcome is None:
            return None, None
        rendered, result = outcome
        if not result.faces:
            gr.Warning(NO_FACE_MESSAGE, title="No face")
        return rendered, result.to_dict()

    def detect_frame(
        self, frame: Any, threshold: Any, blur: Any, blur_mode: Any, tracker: FaceTracker | None = None
    ) -> tuple[np.ndarray | None, Results | None, str, Any, list[list[Any]], FaceTracker]:
        """One live webcam frame: the processed frame, its results, summary, chart, table and the visitor's tracker.

        The tracker (the visitor's ``gr.State``) keeps a face found in earlier frames blurred in the
        frames where the detector misses it, and smooths the labels over frames.
        """
        if not isinstance(tracker, FaceTracker):
            tracker = FaceTracker(self.pipeline.settings)
        outcome = self._run(frame, threshold, blur, blur_mode, tracker)
        if outcome is None:
            return None, None, *self.show(None), tracker
        rendered, result = outcome
        results = result.to_dict()
        return rendered, results, *self.show(results), tracker

    @staticmethod
    def show(results: Results | None) -> tuple[str, Any, list[list[Any]]]:
        """Summary, chart and table for a ``/detect`` result."""
        return summary_text(results), face_chart(results), face_rows(results)

    @staticmethod
    def select(results: Results | None, event: gr.SelectData) -> Any:
        """The chart for the face whose table row was clicked."""
        faces = (results or {}).get("faces") or []
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        if not isinstance(row, int) or not 0 <= row < len(faces):
            return face_chart(results)
        return face_chart(results, row)
