"""``prepare``: face crops from every labelled set, de-duplicated and split, saved as a ``DatasetDict``."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from facemask import Settings, create_detector, load_image
from facemask.detect import Face, FaceDetector, FaceFinder, _ScalingDetector
from facemask.labels import LABELS
from facemask.preprocess import crop_face

from .config import TrainConfig
from .dedupe import file_digest, identical_items, near_duplicate_groups, phash
from .faces import BoxAdjustment, contains, main_face, match_boxes, tight_crop_face, whole_image_face
from .slices import brightness, sharpness
from .sources import TRAINING_SOURCES, SourceImage, dataroots
from .split import group_split

log = logging.getLogger(__name__)


@dataclass
class FaceRecord:
    """One face crop and what is known about it."""

    crop: np.ndarray
    label: str
    image: SourceImage
    face_px: float
    box_origin: str
    """``detector``, ``annotation`` (adjusted annotation box), ``review`` (reviewed detector box), ``tight_crop``
    (found on the padded image) or ``whole_image`` (a close-up where no face was found: its centred square)."""
    det_score: float
    group: str = ""
    split: str = ""
    hash: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def store_crop(image: np.ndarray, box: tuple[float, float, float, float], margin: float, max_px: int) -> np.ndarray:
    """The inference crop of ``box``, shrunk (area) to at most ``max_px`` per side."""
    crop = crop_face(image, box, margin)
    if crop.shape[0] > max_px:
        crop = cv2.resize(crop, (max_px, max_px), interpolation=cv2.INTER_AREA)
    return crop


class CropMaker:
    """Runs the app's detector on each source image and crops faces the way inference does."""

    def __init__(self, config: TrainConfig, settings: Settings | None = None, detector: FaceDetector | None = None):
        self.config = config
        self.settings = settings or Settings()
        floor = min(self.settings.detection_threshold, self.settings.blur_threshold)
        self.detector = detector or create_detector(self.settings.replace(detection_threshold=floor))
        self.counts: Counter[str] = Counter()
        self.adjustment: BoxAdjustment | None = None
        self.finder = FaceFinder(self.detector, self.settings) if isinstance(self.detector, _ScalingDetector) else None

    def find_faces(self, image: np.ndarray) -> list[Face]:
        """Faces as the app's pipeline finds them on a still image (its extra passes included), best first."""
        if self.finder is None:
            return self.detector.detect(image)
        return self.finder.detect(image, thorough=self.settings.detect_thorough, min_score=self.settings.detection_threshold)

    def _record(self, image: np.ndarray, src: SourceImage, label: str, box, origin: str, score: float) -> FaceRecord:
        crop = store_crop(image, box, self.settings.crop_margin, self.config.crop_store_px)
        self.counts[f"{src.source}:{origin}"] += 1
        return FaceRecord(crop, label, src, float(max(box[2], box[3])), origin, score)

    def annotated_scenes(self, images: list[SourceImage]) -> list[FaceRecord]:
        """Faces of annotated scenes: the matched detector box, else the adjusted annotation box."""
        found = []
        for src in tqdm(images, desc=f"detect {images[0].source if images else ''}", unit="img"):
            image = load_image(src.path, self.settings)
            faces = self.detector.detect(image)
            boxes = [f.box for f in faces]
            match = match_boxes([a.box for a in src.faces], boxes, self.config.det_match_iou)
            found.append((src, image, faces, match))
        adjustment = BoxAdjustment.fit(
            [(a.box, faces[j].box) for src, _, faces, match in found for a, j in zip(src.faces, match) if j is not None]
        )
        log.info("annotation -> detector box adjustment: %s", adjustment)
        records = []
        for src, image, faces, match in found:
            for ann, j in zip(src.faces, match):
                if max(ann.box[2], ann.box[3]) < self.config.min_face_px:
                    self.counts[f"{src.source}:too_small"] += 1
                    continue
                if j is not None:
                    records.append(self._record(image, src, ann.label, faces[j].box, "detector", faces[j].score))
                else:
                    records.append(self._record(image, src, ann.label, adjustment.apply(ann.box), "annotation", 0.0))
        self.adjustment = adjustment
        return records

    def _decoded(self, images: list[SourceImage], verb: str) -> Iterator[tuple[SourceImage, np.ndarray]]:
        """Each readable image with its pixels (with a progress bar); unreadable ones are counted and skipped."""
        for src in tqdm(images, desc=f"{verb} {images[0].source if images else ''}", unit="img"):
            try:
                yield src, load_image(src.path, self.settings)
            except ValueError:
                self.counts[f"{src.source}:unreadable"] += 1

    def reviewed_faces(self, images: list[SourceImage]) -> list[FaceRecord]:
        """Faces whose boxes (the app's detector's) and labels were reviewed by hand: cropped as they are."""
        return [
            self._record(image, src, face.label, face.box, "review", 1.0)
            for src, image in self._decoded(images, "crop")
            for face in src.faces
        ]

    def single_faces(self, images: list[SourceImage]) -> list[FaceRecord]:
        """One face per labelled image; multi-face images are dropped, face-less ones kept only if tight crops."""
        records = []
        confident = self.config.single_face_score
        for src, image in self._decoded(images, "detect"):
            faces = [f for f in self.detector.detect(image) if f.score >= confident]
            if src.faces:  # a hint box (MaskedFace-Net's mask region) picks the face that holds it
                x, y, w, h = src.faces[0].box
                faces = [f for f in faces if contains(f.box, (x + w / 2, y + h / 2))]
            if len(faces) > 1:
                self.counts[f"{src.source}:dropped_multi_face"] += 1
                continue
            assert src.label is not None
            if faces:
                records.append(self._record(image, src, src.label, faces[0].box, "detector", faces[0].score))
                continue
            tight = tight_crop_face(image, self.detector, self.config.tight_crop_min_cover)
            if tight is None:
                self.counts[f"{src.source}:dropped_no_face"] += 1
                continue
            records.append(self._record(image, src, src.label, tight.box, "tight_crop", tight.score))
        return records


    def main_faces(self, images: list[SourceImage]) -> list[FaceRecord]:
        """Close-ups labelled per photo: the main face (largest, most central) the app's pipeline finds (its passes).

        Where it finds none, the face is looked for on the padded image (a face filling the frame), and
        failing that the photo's centred square is taken (close-ups are face-centred); both are counted.
        """
        records = []
        for src, image in self._decoded(images, "detect"):
            assert src.label is not None
            height, width = image.shape[:2]
            found = self.find_faces(image)
            shown = [f for f in found if f.score >= self.settings.detection_threshold]
            face = main_face(shown or found, width, height)
            origin = "detector"
            if face is None:
                face, origin = tight_crop_face(image, self.detector, 0.0), "tight_crop"
            if face is None:
                face, origin = whole_image_face(width, height, self.settings.crop_margin), "whole_image"
            records.append(self._record(image, src, src.label, face.box, origin, face.score))
        return records

    def matched_scene_faces(self, images: list[SourceImage]) -> list[FaceRecord]:
        """Annotated faces as the pipeline shows them: only those matched by a detection over the display threshold."""
        records = []
        for src, image in self._decoded(images, "detect"):
            faces = [f for f in self.find_faces(image) if f.score >= self.settings.detection_threshold]
            match = match_boxes([a.box for a in src.faces], [f.box for f in faces], self.config.scene_match_iou)
            for ann, j in zip(src.faces, match):
                if j is None:
                    self.counts[f"{src.source}:not_detected"] += 1
                else:
                    records.append(self._record(image, src, ann.label, faces[j].box, "detector", faces[j].score))
        return records


def deduplicate(records: list[FaceRecord], config: TrainConfig) -> tuple[list[FaceRecord], dict[str, int]]:
    """Drop exact duplicates and give every record a group id shared by its near-duplicates (and scene)."""
    report: Counter[str] = Counter()
    digests = {id(r): file_digest(r.image.path) for r in records}
    scene_sources = {r.image.source for r in records if r.image.label is None}
    # exact duplicate files with the same label (single-face sets): keep the first
    seen: set[tuple[str, str]] = set()
    kept = []
    for r in records:
        key = (digests[id(r)], r.label)
        if r.image.source not in scene_sources and key in seen:
            report["exact_duplicate_files_removed"] += 1
            continue
        seen.add(key)
        kept.append(r)
    singles = [r for r in kept if r.image.source not in scene_sources]
    for r in singles:
        r.hash = phash(r.crop)
    drop = {id(singles[i]) for i in identical_items([r.hash for r in singles], [r.label for r in singles])}
    report["identical_crops_removed"] = len(drop)
    singles = [r for r in singles if id(r) not in drop]
    groups = near_duplicate_groups([r.hash for r in singles], config.phash_max_distance)
    for r, g in zip(singles, groups):
        r.group = f"face-{g}"
    sizes = Counter(groups)
    report["near_duplicate_groups"] = sum(1 for n in sizes.values() if n > 1)
    report["near_duplicate_faces_merged"] = sum(n for n in sizes.values() if n > 1)
    scenes = [r for r in kept if r.image.source in scene_sources]
    paths = sorted({r.image.path for r in scenes})
    index = {p: i for i, p in enumerate(paths)}
    scene_hashes = [phash(load_image(p)) for p in paths]
    scene_groups = near_duplicate_groups(scene_hashes, config.phash_max_distance)
    for r in scenes:
        r.group = f"scene-{paths[scene_groups[index[r.image.path]]].stem}"
    report["near_duplicate_scene_groups"] = sum(1 for n in Counter(scene_groups).values() if n > 1)
    report["near_duplicate_scenes_merged"] = sum(n for n in Counter(scene_groups).values() if n > 1)
    return scenes + singles, dict(report)


def assign_splits(records: list[FaceRecord], config: TrainConfig) -> None:
    """Stratified (by source and class) group split, in place."""
    splits = group_split(
        [r.group for r in records],
        [r.label for r in records],
        [r.image.source for r in records],
        config.split_fractions,
        config.seed,
    )
    for r, s in zip(records, splits):
        r.split = s


def _jpeg(crop: np.ndarray) -> dict[str, Any]:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise ValueError("cannot encode a face crop")
    return {"bytes": buf.tobytes(), "path": None}


FEATURE_NAMES = (
    "image", "label", "source", "license", "synthetic", "file", "group",
    "face_px", "brightness", "sharpness", "box_origin", "det_score",
)  # fmt: skip


def _features() -> Any:
    import datasets

    return datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=list(LABELS)),
            "source": datasets.Value("string"),
            "license": datasets.Value("string"),
            "synthetic": datasets.Value("bool"),
            "file": datasets.Value("string"),
            "group": datasets.Value("string"),
            "face_px": datasets.Value("float32"),
            "brightness": datasets.Value("float32"),
            "sharpness": datasets.Value("float32"),
            "box_origin": datasets.Value("string"),
            "det_score": datasets.Value("float32"),
        }
    )


def _to_dataset(records: Iterable[FaceRecord]) -> Any:
    """One ``datasets.Dataset`` of records."""
    import datasets

    features = _features()
    row: dict[str, list[Any]] = {k: [] for k in features}
    for r in records:
        row["image"].append(_jpeg(r.crop))
        row["label"].append(LABELS.index(r.label))
        row["source"].append(r.image.source)
        row["license"].append(r.image.license)
        row["synthetic"].append(r.image.synthetic)
        row["file"].append(r.image.path.name)
        row["group"].append(r.group)
        row["face_px"].append(r.face_px)
        row["brightness"].append(brightness(r.crop))
        row["sharpness"].append(sharpness(r.crop))
        row["box_origin"].append(r.box_origin)
        row["det_score"].append(r.det_score)
    return datasets.Dataset.from_dict(row, features=features)


def to_dataset_dict(records: Iterable[FaceRecord]) -> Any:
    """``datasets.DatasetDict`` (train / validation / test) with ``Image`` + ``ClassLabel`` features."""
    import datasets

    records = list(records)
    return datasets.DatasetDict({s: _to_dataset([r for r in records if r.split == s]) for s in ("train", "validation", "test")})


DATAROOTS_VALIDATION = "dataroots_validation"
"""Folder beside the saved ``DatasetDict``: dataroots' validation faces as the pipeline crops them (decision rule only;
never trained on, never published)."""


def prepare(data_dir: Path, out_dir: Path, config: TrainConfig, limit: int | None = None) -> dict[str, Any]:
    """Build ``out_dir`` (a saved ``DatasetDict``) and ``out_dir/prepare_report.json``; returns the report."""
    maker = CropMaker(config)
    records: list[FaceRecord] = []
    unknown = sorted(set(config.sources) - set(TRAINING_SOURCES))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; known: {sorted(TRAINING_SOURCES)}")
    for name in config.sources:
        images = TRAINING_SOURCES[name](data_dir)
        if limit:
            images = images[:: max(len(images) // limit, 1)][:limit]
        if name == "andrewmvd_dev":
            records += maker.annotated_scenes(images)
        elif name == "rwmfd":
            records += maker.reviewed_faces(images)
        elif name == "closeups_dev":
            records += maker.main_faces(images)
        else:
            records += maker.single_faces(images)
    records, dedupe_report = deduplicate(records, config)
    assign_splits(records, config)
    dataset = to_dataset_dict(records)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset.save_to_disk(str(out_dir))
    decision: list[FaceRecord] = []
    if (data_dir / "dataroots_scenes" / "boxes.csv").is_file():
        scenes = [s for s in dataroots(data_dir) if s.split == "validation"]
        if limit:
            scenes = scenes[:: max(len(scenes) // limit, 1)][:limit]
        decision = maker.matched_scene_faces(scenes)
        for r in decision:
            r.group, r.split = f"scene-{r.image.path.stem}", "validation"
        _to_dataset(decision).save_to_disk(str(out_dir / DATAROOTS_VALIDATION))
    counts = Counter((r.split, r.image.source, r.label) for r in records)
    report = {
        "faces": len(records),
        "crops": dict(sorted(maker.counts.items())),
        "dedupe": dedupe_report,
        "box_adjustment": vars(maker.adjustment) if maker.adjustment else None,
        "split_counts": {f"{s}/{src}/{lab}": n for (s, src, lab), n in sorted(counts.items())},
        "decision_faces": {f"{DATAROOTS_VALIDATION}/{lab}": n for lab, n in sorted(Counter(r.label for r in decision).items())},
    }
    (out_dir / "prepare_report.json").write_text(json.dumps(report, indent=2))
    return report
