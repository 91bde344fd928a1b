"""Readers for each data set in ``../shared/data``: images with their labels and annotated boxes.

Each reader returns :class:`SourceImage` records; nothing is decoded here. Boxes are
``(x, y, w, h)`` in pixels of the image file.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from facemask.labels import LABELS

Box = tuple[float, float, float, float]

@dataclass(frozen=True)
class SourceInfo:
    """What a data set is allowed to be used for: its licence, and whether its images may be published."""

    license: str
    publishable: bool
    reason: str = ""
    """Why it may not be published (empty when it may)."""


SOURCE_INFO: dict[str, SourceInfo] = {
    "andrewmvd_dev": SourceInfo("CC0-1.0", True),
    "maskedfacenet": SourceInfo("CC-BY-NC-SA-4.0", True),
    "chandrikadeb7": SourceInfo("MIT (repository; web images without per-image license)", True),
    "dataroots_scenes": SourceInfo("MIT (repository; pexels/unsplash/pixabay photos)", True),
    "rwmfd": SourceInfo(
        "free for research (RWMFD); labels reviewed here", False, "research-only licence that grants no redistribution"
    ),
    "closeups_dev": SourceInfo(
        "none stated (train and evaluate only)",
        False,
        "no licence stated and some are watermarked stock photos: train and evaluate only, never redistributed",
    ),
}
"""Every source's licence and whether it may be redistributed (``python -m hub push-dataset`` publishes only those)."""
LICENSES = {name: info.license for name, info in SOURCE_INFO.items()}
SYNTHETIC = frozenset({"maskedfacenet"})
REAL_PHOTO_SOURCES = frozenset({"andrewmvd_dev", "rwmfd", "closeups_dev"})
"""Real photos of people as the product meets them (not web-search portraits, not synthetic): weighted up in
training, and the only faces the decision rule, the epoch choice and the class weighting are judged on."""


def publishable(source: str) -> bool:
    """Whether crops of ``source`` may be redistributed (unknown sources may not)."""
    info = SOURCE_INFO.get(source)
    return bool(info and info.publishable)


REVIEWS_DIR = Path(__file__).with_name("reviews")


@dataclass(frozen=True)
class AnnotatedFace:
    """One annotated object: its label and box."""

    label: str
    box: Box


@dataclass
class SourceImage:
    """One image file of a data set, with an image-level label and/or annotated faces."""

    path: Path
    source: str
    label: str | None = None
    faces: list[AnnotatedFace] = field(default_factory=list)
    split: str | None = None
    """A split fixed by the data set itself (dataroots' validation/test), else ``None``."""

    @property
    def license(self) -> str:
        return LICENSES[self.source]

    @property
    def synthetic(self) -> bool:
        return self.source in SYNTHETIC


def read_voc(xml_path: Path) -> tuple[str, list[AnnotatedFace]]:
    """A PASCAL VOC file's image file name and its objects (boxes converted to x, y, w, h)."""
    root = ET.parse(xml_path).getroot()
    faces = []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is None:
            continue
        x0, y0, x1, y1 = (float(bb.findtext(k, "0")) for k in ("xmin", "ymin", "xmax", "ymax"))
        faces.append(AnnotatedFace(obj.findtext("name", "").strip(), (x0, y0, x1 - x0, y1 - y0)))
    return root.findtext("filename", "").strip(), faces


def andrewmvd(data_dir: Path) -> list[SourceImage]:
    """Real crowd scenes; every face box labelled with one of the three classes."""
    root = data_dir / "andrewmvd_dev"
    images = []
    for xml_path in sorted((root / "annotations").glob("*.xml")):
        filename, faces = read_voc(xml_path)
        path = root / "images" / (filename or xml_path.with_suffix(".jpg").name)
        if not path.is_file():
            path = root / "images" / xml_path.with_suffix(".jpg").name
        faces = [f for f in faces if f.label in LABELS]
        if path.is_file() and faces:
            images.append(SourceImage(path, "andrewmvd_dev", faces=faces))
    return images


def maskedfacenet_label(stem: str) -> str:
    """The class a MaskedFace-Net file name encodes."""
    if stem.startswith("augmented_image"):
        return "without_mask"
    if stem.endswith(("_Mask_Mouth_Chin", "_Mask_Chin", "_Mask_Nose_Mouth")):
        return "incorrect_mask"
    if stem.endswith("_Mask"):
        return "with_mask"
    raise ValueError(f"unknown MaskedFace-Net file name: {stem}")


def maskedfacenet(data_dir: Path) -> list[SourceImage]:
    """Synthetic masks on FFHQ faces (one face per image). Its VOC box marks the mask region, not the face."""
    root = data_dir / "maskedfacenet"
    images = []
    for path in sorted((root / "images").glob("*.jpg")):
        xml_path = root / "annotations" / f"{path.stem}.xml"
        hints = read_voc(xml_path)[1] if xml_path.is_file() else []
        label = maskedfacenet_label(path.stem)
        images.append(SourceImage(path, "maskedfacenet", label=label, faces=[AnnotatedFace(label, f.box) for f in hints]))
    return images


def chandrikadeb7(data_dir: Path) -> list[SourceImage]:
    """Web photos in one folder per class (no boxes)."""
    root = data_dir / "chandrikadeb7"
    return [
        SourceImage(path, "chandrikadeb7", label=label)
        for label in ("with_mask", "without_mask")
        for path in sorted((root / label).iterdir())
        if path.suffix.lower() in (".jpg", ".jpeg", ".png")
    ]


DATAROOTS_LABELS = {"masked": "with_mask", "not_masked": "without_mask"}


def dataroots(data_dir: Path) -> list[SourceImage]:
    """Real stock photos with face boxes labelled masked / not_masked, split validation / test by image."""
    root = data_dir / "dataroots_scenes"
    by_image: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(root / "boxes.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            by_image[row["image"]].append(row)
    images = []
    for name, rows in sorted(by_image.items()):
        faces = [
            AnnotatedFace(DATAROOTS_LABELS[r["label"]], (float(r["x"]), float(r["y"]), float(r["w"]), float(r["h"])))
            for r in rows
        ]
        images.append(SourceImage(root / "images" / name, "dataroots_scenes", faces=faces, split=rows[0]["split"]))
    return images


def rwmfd(data_dir: Path, labels_csv: Path = REVIEWS_DIR / "rwmfd_part1.csv") -> list[SourceImage]:
    """Real masked-people photos with the reviewed face labels of ``training/reviews`` (boxes from our detector)."""
    root = data_dir / "rwmfd_masked_unlabelled" / "RWMFD_part_1"
    by_image: dict[str, list[AnnotatedFace]] = defaultdict(list)
    with open(labels_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            box = (float(row["x"]), float(row["y"]), float(row["w"]), float(row["h"]))
            by_image[row["file"]].append(AnnotatedFace(row["label"], box))
    return [SourceImage(root / name, "rwmfd", faces=faces) for name, faces in sorted(by_image.items()) if (root / name).is_file()]


CLOSEUP_CLASSES = ("with_mask", "without_mask", "incorrect_mask")


def closeups(data_dir: Path) -> list[SourceImage]:
    """Real close-ups (mostly one person, face near the centre), one folder per class: the main face carries the label."""
    root = data_dir / "closeups_dev"
    return [
        SourceImage(path, "closeups_dev", label=label)
        for label in CLOSEUP_CLASSES
        if (root / label).is_dir()
        for path in sorted((root / label).iterdir())
        if path.suffix.lower() in (".jpg", ".jpeg", ".png")
    ]


TRAINING_SOURCES = {
    "andrewmvd_dev": andrewmvd,
    "maskedfacenet": maskedfacenet,
    "chandrikadeb7": chandrikadeb7,
    "rwmfd": rwmfd,
    "closeups_dev": closeups,
}
