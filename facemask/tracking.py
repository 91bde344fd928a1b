"""Faces across frames: a track id per face, labels smoothed over the track, blur carried over misses.

Video files and the app's webcam stream share :class:`FaceTracker`. Each frame's
:class:`~facemask.pipeline.DetectionResult` is matched to the live tracks (IoU, then centre
distance, against each track's position predicted at the frame's time). A matched face keeps its
track id and shows the track's smoothed class probabilities (an exponential moving average), so a
face does not flip between classes from frame to frame; each track also keeps the mean of all its
probabilities, which gives the track its one label in a summary.

A track the detector misses is *carried*: the region spanning its last blur region and that region
moved on at the track's velocity (measured over its last few observations, capped) grows a little
for every missed frame and is added to the frame's pixelated regions, for up to ``track_carry_frames`` frames and ``track_carry_s``
seconds. A detector flicker therefore never shows a face. Regions of faces under the display
threshold (blurred but not listed) are tracked and carried the same way. For files,
:class:`Lookback` also blurs a face in the few frames *before* it was first (or again) detected.

Matching uses the blur regions when the blur is on (every pixelated region, listed face or not,
has one) and the face boxes when it is off. Everything is deterministic: the same results in give
the same tracks out.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, Iterable, TypeVar

import numpy as np

from .config import Settings
from .labels import LABELS
from .pipeline import DetectionResult, FaceResult

Rect = tuple[int, int, int, int]
T = TypeVar("T")
_HISTORY = 5
"""Observations kept per track to measure its velocity (first to last of them)."""
_MIN_MOTION = 3
"""Observations needed before a track's velocity is trusted."""
_MAX_SPEED = 2.0
"""Fastest motion a track is predicted with, in track sizes per second."""


@dataclass
class _Observation:
    corners: np.ndarray  # x0, y0, x1, y1
    kind: str  # "region" (a blur region) or "box" (a face box)
    face: FaceResult | None  # None for a pixelated region of a face under the display threshold


@dataclass
class _Track:
    id: int
    kind: str
    history: deque[tuple[float, np.ndarray]]
    missed: int = 0
    ema: np.ndarray | None = None
    total: np.ndarray = field(default_factory=lambda: np.zeros(len(LABELS)))
    labelled: int = 0

    @property
    def last_time(self) -> float:
        return self.history[-1][0]

    def velocity(self) -> np.ndarray:
        """Corner velocity per second over the kept observations: zero until there are ``_MIN_MOTION``
        of them (two noisy boxes make a wild guess), at most ``_MAX_SPEED`` track sizes per second."""
        if len(self.history) < _MIN_MOTION:
            return np.zeros(4)
        (t0, c0), (t1, c1) = self.history[0], self.history[-1]
        if t1 <= t0:
            return np.zeros(4)
        velocity = (c1 - c0) / (t1 - t0)
        size = max(float(np.sqrt(max((c1[2] - c1[0]) * (c1[3] - c1[1]), 1.0))), 1.0)
        fastest = float(np.abs(velocity).max())
        return velocity * min(1.0, _MAX_SPEED * size / fastest) if fastest > 0 else velocity

    def predict(self, time: float) -> np.ndarray:
        """Where the track's corners are expected at ``time``."""
        return self.history[-1][1] + self.velocity() * (time - self.last_time)

    def label(self) -> str | None:
        """The track's one label: the class with the highest mean probability (``None`` if never listed)."""
        return LABELS[int(np.argmax(self.total))] if self.labelled else None


@dataclass(frozen=True)
class TrackedFrame:
    """One frame after tracking: faces with smoothed labels, their track ids, and what was carried."""

    result: DetectionResult
    """The frame's result with smoothed labels; ``blurred`` includes the carried regions."""
    track_ids: list[int]
    """Track id of each of ``result.faces``, in the same order."""
    carried: list[Rect]
    """Regions added because a track was missed in this frame (also in ``result.blurred``)."""
    regions: dict[int, Rect] = field(default_factory=dict)
    """The region pixelated for each track in this frame (detected or carried), by track id."""


def _corners(rect: Iterable[float]) -> np.ndarray:
    x, y, w, h = (float(v) for v in rect)
    return np.array([x, y, x + w, y + h])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _centre_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance of the centres, in units of ``a``'s size (square root of its area)."""
    size = max(float(np.sqrt(max((a[2] - a[0]) * (a[3] - a[1]), 1.0))), 1.0)
    return float(np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2)) / size


def _size_ratio(a: np.ndarray, b: np.ndarray) -> float:
    area_a = max((a[2] - a[0]) * (a[3] - a[1]), 1.0)
    area_b = max((b[2] - b[0]) * (b[3] - b[1]), 1.0)
    return float(max(area_a, area_b) / min(area_a, area_b))


def _clip(corners: np.ndarray, width: int, height: int) -> Rect | None:
    x0, y0 = max(int(np.floor(corners[0])), 0), max(int(np.floor(corners[1])), 0)
    x1, y1 = min(int(np.ceil(corners[2])), width), min(int(np.ceil(corners[3])), height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0


class FaceTracker:
    """Tracks faces over a sequence of :class:`DetectionResult` (one tracker per video or webcam visitor)."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.carry_frames = settings.track_carry_frames
        self.carry_s = settings.track_carry_s
        self.carry_growth = settings.track_carry_growth
        self.min_iou = settings.track_min_iou
        self.max_distance = settings.track_max_distance
        self.label_alpha = settings.track_label_alpha
        self._tracks: list[_Track] = []
        self._finished: list[str] = []
        self._next_id = 1
        self._blur: bool | None = None
        self._last_time: float | None = None
        self._size: tuple[int, int] | None = None

    def reset(self) -> None:
        """Forget every track (the summary counts too)."""
        self._tracks, self._finished, self._next_id = [], [], 1
        self._blur, self._last_time, self._size = None, None, None

    def cut(self) -> None:
        """A scene cut: every live track ends (its label is kept for the summary); nothing is carried over."""
        for track in self._tracks:
            self._end(track)
        self._tracks = []

    def _observations(self, result: DetectionResult, blur: bool) -> list[_Observation]:
        observations: list[_Observation] = []
        listed = set()
        for face in result.faces:
            if blur and face.blur is not None:
                observations.append(_Observation(_corners(face.blur), "region", face))
                listed.add(tuple(face.blur))
            else:
                observations.append(_Observation(_corners(face.box), "box", face))
        if blur:
            for region in result.blurred:
                if tuple(region) not in listed:
                    observations.append(_Observation(_corners(region), "region", None))
        return observations

    def _match(self, observations: list[_Observation], time: float) -> dict[int, int]:
        """Greedy one-to-one matching: observation index -> track index."""
        candidates: list[tuple[float, float, int, int]] = []
        for t_index, track in enumerate(self._tracks):
            predicted = track.predict(time)
            for o_index, obs in enumerate(observations):
                if obs.kind != track.kind:
                    continue
                iou = _iou(predicted, obs.corners)
                distance = _centre_distance(predicted, obs.corners)
                if iou >= self.min_iou or (distance <= self.max_distance and _size_ratio(predicted, obs.corners) <= 2.5):
                    candidates.append((-iou, distance, t_index, o_index))
        candidates.sort()
        matches: dict[int, int] = {}
        used_tracks: set[int] = set()
        for _, _, t_index, o_index in candidates:
            if t_index in used_tracks or o_index in matches:
                continue
            matches[o_index] = t_index
            used_tracks.add(t_index)
        return matches

    def _observe(self, track: _Track, obs: _Observation, time: float) -> FaceResult | None:
        track.history.append((time, obs.corners))
        track.missed = 0
        if obs.face is None:
            return None
        probs = np.array([obs.face.scores[label] for label in LABELS], dtype=np.float64)
        track.ema = probs if track.ema is None else self.label_alpha * probs + (1 - self.label_alpha) * track.ema
        track.total += probs
        track.labelled += 1
        scores = {label: float(p) for label, p in zip(LABELS, track.ema)}
        return dataclasses.replace(obs.face, label=LABELS[int(np.argmax(track.ema))], scores=scores)

    def update(self, result: DetectionResult, time: float, blur: bool = True) -> TrackedFrame:
        """Track one frame's faces; ``time`` in seconds (increasing), ``blur`` as the result was made.

        Returns the frame with smoothed labels and, when ``blur`` is on, the carried regions added
        to ``blurred``. A change of ``blur`` or of the frame size, or a time going backwards, starts afresh.
        """
        size = (result.width, result.height)
        if self._blur is not None and (blur != self._blur or size != self._size
                                       or (self._last_time is not None and time < self._last_time)):
            self.reset()
        self._blur, self._last_time, self._size = blur, time, size
        observations = self._observations(result, blur)
        matches = self._match(observations, time)
        faces: list[FaceResult] = []
        track_ids: list[int] = []
        seen: set[int] = set()
        regions: dict[int, Rect] = {}
        for o_index, obs in enumerate(observations):
            if o_index in matches:
                track = self._tracks[matches[o_index]]
            else:
                track = _Track(self._next_id, obs.kind, deque(maxlen=_HISTORY))
                self._next_id += 1
                self._tracks.append(track)
            seen.add(track.id)
            if obs.kind == "region" and (region := _clip(obs.corners, result.width, result.height)) is not None:
                regions[track.id] = region
            shown = self._observe(track, obs, time)
            if shown is not None:
                faces.append(shown)
                track_ids.append(track.id)
        carried: list[Rect] = []
        alive: list[_Track] = []
        for track in self._tracks:
            if track.id not in seen:
                track.missed += 1
                if track.missed > self.carry_frames or time - track.last_time > self.carry_s:
                    self._end(track)
                    continue
                if blur and track.kind == "region":
                    # where it was last seen and where its motion takes it, both: the guess may be wrong
                    last, predicted = track.history[-1][1], track.predict(time)
                    corners = np.concatenate([np.minimum(last[:2], predicted[:2]), np.maximum(last[2:], predicted[2:])])
                    grow = self.carry_growth * track.missed * (last[2:] - last[:2])
                    region = _clip(np.concatenate([corners[:2] - grow, corners[2:] + grow]), result.width, result.height)
                    if region is not None:
                        carried.append(region)
                        regions[track.id] = region
            alive.append(track)
        self._tracks = alive
        tracked = dataclasses.replace(result, faces=faces, blurred=list(result.blurred) + carried)
        return TrackedFrame(tracked, track_ids, carried, regions)

    def _end(self, track: _Track) -> None:
        label = track.label()
        if label is not None:
            self._finished.append(label)

    def track_labels(self) -> dict[str, int]:
        """Distinct listed faces (tracks) per label, finished and live, in :data:`LABELS` order."""
        labels = self._finished + [label for track in self._tracks if (label := track.label()) is not None]
        return {label: labels.count(label) for label in LABELS}


class Lookback(Generic[T]):
    """Holds the last ``depth`` tracked frames back, so that a face found at frame *t* is also blurred in
    the up to ``depth`` frames before it where it was not (a file can wait; a live stream cannot).

    ``push`` returns the frames that leave the buffer, oldest first, each with its tracked frame's
    ``blurred`` completed; ``flush`` returns the rest at the end. Memory: ``depth`` frames.
    """

    def __init__(self, depth: int, growth: float) -> None:
        self.depth, self.growth = depth, growth
        self._pending: deque[tuple[T, TrackedFrame]] = deque()

    def push(self, item: T, tracked: TrackedFrame) -> list[tuple[T, TrackedFrame]]:
        for age, (_, earlier) in enumerate(reversed(self._pending), start=1):
            for track_id, (x, y, w, h) in tracked.regions.items():
                if track_id in earlier.regions:
                    continue
                dx, dy = self.growth * age * w, self.growth * age * h
                region = _clip(np.array([x - dx, y - dy, x + w + dx, y + h + dy]),
                               earlier.result.width, earlier.result.height)
                if region is not None:
                    earlier.regions[track_id] = region
                    earlier.result.blurred.append(region)
        self._pending.append((item, tracked))
        released = []
        while len(self._pending) > self.depth:
            released.append(self._pending.popleft())
        return released

    def flush(self) -> list[tuple[T, TrackedFrame]]:
        released = list(self._pending)
        self._pending.clear()
        return released
