"""The whole product in one call: image -> faces -> one classifier batch -> results -> blurred, annotated image.

The app, the CLI, training's evaluation and the benchmark all go through :class:`Pipeline`.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import BlurMode, Settings
from .detect import Face, FaceDetector, FaceFinder, _ScalingDetector, create_detector
from .io import ImageSource, load_image
from .labels import DISPLAY_NAMES, LABELS
from .model import MaskClassifier
from .preprocess import crop_face
from .privacy import blur_region, block_size, hidden_face_region, pixelate
from .render import draw_faces


@dataclass(frozen=True)
class FaceResult:
    """One classified face; coordinates are pixels of the (upright) input image."""

    box: tuple[float, float, float, float]
    score: float
    label: str
    scores: dict[str, float]
    landmarks: list[list[float]] | None
    blur: tuple[int, int, int, int] | None = None

    @property
    def confidence(self) -> float:
        """Probability of the predicted label."""
        return self.scores[self.label]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the CLI's ``faces`` entries)."""
        return {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 4),
            "label": self.label,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "landmarks": self.landmarks,
            "blur": list(self.blur) if self.blur is not None else None,
        }


@dataclass
class DetectionResult:
    """All faces of one image, plus what produced them."""

    width: int
    height: int
    faces: list[FaceResult]
    detector: str
    runtime: str
    blurred: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Every region pixelated in the output image (faces below the display threshold included)."""
    face_widths: dict[tuple[int, int, int, int], float] = field(default_factory=dict, repr=False, compare=False)
    """Width of the face behind an eye-band region that no listed face carries (anonymise-only results), which
    sets its pixel-cell size as a listed face's width does."""

    def counts(self) -> dict[str, int]:
        """Number of faces per label, in :data:`LABELS` order."""
        counter = Counter(face.label for face in self.faces)
        return {label: counter.get(label, 0) for label in LABELS}

    def summary(self) -> str:
        """One line such as ``3 faces: 2 with mask, 1 without mask``."""
        n = len(self.faces)
        if n == 0:
            return "No face found."
        parts = [f"{count} {_SUMMARY_WORDS[label]}" for label, count in self.counts().items() if count]
        return f"{n} face{'s' if n != 1 else ''}: " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (without the image)."""
        return {
            "width": self.width,
            "height": self.height,
            "faces": [face.to_dict() for face in self.faces],
            "blurred": [list(region) for region in self.blurred],
            "summary": self.summary(),
            "detector": self.detector,
            "runtime": self.runtime,
        }


_SUMMARY_WORDS = {
    "with_mask": "with mask",
    "without_mask": "without mask",
    "incorrect_mask": "mask worn incorrectly",
}
assert set(_SUMMARY_WORDS) == set(DISPLAY_NAMES)


def reading_order(faces: list[Face]) -> list[Face]:
    """Faces sorted into rows (top to bottom), then left to right, so that #1, #2, ... read like text.

    Two faces share a row when their centres are less than half a typical face height apart.
    """
    if len(faces) < 2:
        return list(faces)
    row_height = max(float(np.median([f.box[3] for f in faces])), 1.0)
    by_top = sorted(faces, key=lambda f: f.box[1] + f.box[3] / 2)
    rows: list[list[Face]] = []
    for face in by_top:
        centre = face.box[1] + face.box[3] / 2
        if rows and centre - (rows[-1][0].box[1] + rows[-1][0].box[3] / 2) < row_height / 2:
            rows[-1].append(face)
        else:
            rows.append([face])
    return [face for row in rows for face in sorted(row, key=lambda f: f.box[0])]


class Pipeline:
    """Detector + classifier + privacy blur, loaded once and shared across requests (thread-safe)."""

    def __init__(
        self,
        settings: Settings | None = None,
        classifier: MaskClassifier | None = None,
        detector: FaceDetector | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.classifier = classifier or MaskClassifier.from_pretrained(
            self.settings.model, self.settings.runtime, self.settings.onnx_threads
        )
        detect_floor = min(self.settings.detection_threshold, self.settings.blur_threshold, self.settings.blur_agree_threshold)
        self.detector = detector or create_detector(self.settings.replace(detection_threshold=detect_floor))
        # the extra passes (mirror, second scale, padded close-ups) need a back-end that can rescale
        self.finder = FaceFinder(self.detector, self.settings) if isinstance(self.detector, _ScalingDetector) else None
        self._classify_lock = threading.Lock()

    def load(self, source: ImageSource) -> np.ndarray:
        """Decode an input with the configured limits (raises :class:`facemask.io.ImageError`)."""
        return load_image(source, self.settings)

    def classify_crops(self, crops: list[np.ndarray]) -> np.ndarray:
        """Probabilities for face crops, as one batch."""
        with self._classify_lock:  # ONNX Runtime / torch already use every core for one batch
            return self.classifier.predict_proba(crops)

    def analyze(
        self,
        image: np.ndarray,
        threshold: float | None = None,
        blur: bool | None = None,
        blur_mode: BlurMode | None = None,
        thorough: bool | None = None,
        classify: bool = True,
    ) -> DetectionResult:
        """Detect and classify every face in an RGB uint8 image (no drawing).

        ``thorough`` (default ``settings.detect_thorough``) adds the still-image detection passes;
        the webcam stream passes ``False`` to stay fast. ``classify=False`` is the anonymise-only path
        (``python -m facemask anonymize``): no classifier runs, ``faces`` stays empty and ``blurred``
        holds the same regions as with it.
        """
        threshold = self.settings.detection_threshold if threshold is None else float(threshold)
        blur = self.settings.blur if blur is None else blur
        blur_mode = blur_mode or self.settings.blur_mode
        height, width = image.shape[:2]
        found = self.find_faces(image, threshold, self.settings.detect_thorough if thorough is None else thorough)
        shown = reading_order([f for f in found if f.score >= threshold])
        faces: list[FaceResult] = []
        if classify:
            probabilities = self.classify_crops([crop_face(image, f.box, self.settings.crop_margin) for f in shown])
            faces = [self._face_result(f, probs, blur, blur_mode, width, height) for f, probs in zip(shown, probabilities)]
        blurred: list[tuple[int, int, int, int]] = []
        face_widths: dict[tuple[int, int, int, int], float] = {}
        if blur:
            # faces under the display threshold but over the privacy floor are blurred too, whole (no label to
            # keep readable); the finder has already applied the floor (one pass >= blur_threshold, or two agreeing)
            floor = self.settings.blur_threshold if self.finder is None else 0.0
            hidden = [f for f in found if floor <= f.score < threshold]
            margin = self.settings.hidden_face_margin
            if classify:
                blurred = [r.blur for r in faces if r.blur is not None]
            else:
                for f in shown:
                    if (region := blur_region(f.box, f.landmarks, blur_mode, width, height)) is not None:
                        blurred.append(region)
                        face_widths[region] = f.box[2]
            blurred += [r for f in hidden if (r := hidden_face_region(f.box, margin, width, height))]
        return DetectionResult(width, height, faces, self.detector.name, self.classifier.runtime, blurred, face_widths)

    def find_faces(self, image: np.ndarray, threshold: float | None = None, thorough: bool = True) -> list[Face]:
        """Every face over the blur floor, with the extra passes when the detector allows them."""
        if self.finder is None:
            return self.detector.detect(image)
        return self.finder.detect(image, thorough=thorough, min_score=threshold)

    def _face_result(
        self, face: Face, probs: np.ndarray, blur: bool, blur_mode: BlurMode, width: int, height: int
    ) -> FaceResult:
        scores = {label: float(p) for label, p in zip(LABELS, probs)}
        landmarks = None if face.landmarks is None else [[round(float(a), 1), round(float(b), 1)] for a, b in face.landmarks]
        region = blur_region(face.box, face.landmarks, blur_mode, width, height) if blur else None
        return FaceResult(
            box=face.box,
            score=face.score,
            label=LABELS[int(np.argmax(probs))],
            scores=scores,
            landmarks=landmarks,
            blur=region,
        )

    def render(self, image: np.ndarray, result: DetectionResult, draw: bool = True) -> np.ndarray:
        """A new image with the privacy blur applied first, then boxes and labels drawn."""
        output = image.copy()
        widths = {face.blur: face.box[2] for face in result.faces if face.blur is not None} | result.face_widths
        for region in result.blurred:
            face_width = widths.get(region, region[2] / 1.12)
            pixelate(output, region, block_size(face_width, self.settings.blur_blocks))
        if draw:
            draw_faces(output, result.faces)
        return output

    def __call__(
        self,
        source: ImageSource,
        threshold: float | None = None,
        blur: bool | None = None,
        blur_mode: BlurMode | None = None,
    ) -> tuple[np.ndarray, DetectionResult]:
        """Load, analyse and render one image: returns ``(annotated RGB image, result)``."""
        image = self.load(source)
        result = self.analyze(image, threshold=threshold, blur=blur, blur_mode=blur_mode)
        return self.render(image, result), result
