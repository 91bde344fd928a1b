"""The dataset card: YAML metadata and a README computed from the data and the prepare step's report."""

from __future__ import annotations

from collections import Counter
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData

from facemask.labels import LABELS

from .settings import RepoIds

SPLITS = ("train", "validation", "test")

SOURCES: dict[str, tuple[str, str]] = {
    "andrewmvd_dev": (
        "Real crowd scenes with face boxes (Kaggle *face-mask-detection* by andrewmvd, half of it); the main real "
        "source of incorrectly worn masks. Split by scene.",
        "https://www.kaggle.com/datasets/andrewmvd/face-mask-detection",
    ),
    "maskedfacenet": (
        "**Synthetic**: masks pasted onto real FFHQ faces (MaskedFace-Net subset), correctly and incorrectly worn.",
        "https://github.com/cabani/MaskedFace-Net",
    ),
    "chandrikadeb7": (
        "Real photos, mask / no mask, gathered from web search, Kaggle and RMFD; no per-image license.",
        "https://github.com/chandrikadeb7/Face-Mask-Detection",
    ),
    "rwmfd": (
        "Real web photos of masked people (Real-World Masked Face Dataset, part 1), unlabelled at the source: faces "
        "found by our detector, labelled by review where the classifier disagreed with 'masked' and as `with_mask` "
        "where it agreed (`training/reviews/` in the code repository). Split by photo.",
        "https://github.com/X-zhangyang/Real-World-Masked-Face-Dataset",
    ),
    "closeups_dev": (
        "Real close-ups of one person (Kaggle Humans-in-the-Loop medical masks and coffee124 face-mask-N95, via "
        "youyinnn/ai_face_mask_detector), labelled per photo; the main face the app's detector finds.",
        "https://github.com/youyinnn/ai_face_mask_detector",
    ),
}
"""What each source is and where it comes from; its license is read from the data's ``license`` column."""

COLUMNS: dict[str, str] = {
    "image": "the face crop (JPEG, at most 160 px a side), cut with the app's own detector and margin",
    "label": f"class: {', '.join(f'{i} = `{name}`' for i, name in enumerate(LABELS))}",
    "source": "the data set the face comes from (see *Sources and licenses*)",
    "license": "license of that source",
    "synthetic": "true when the mask was pasted on by software (MaskedFace-Net)",
    "file": "file name of the original image in its source",
    "group": "near-duplicate group (faces) or scene; a group never spans two splits",
    "face_px": "longer side of the face box in the original image, in pixels",
    "brightness": "mean luma of the crop (0-255), for bias slices",
    "sharpness": "variance of the Laplacian of the crop at 96 px (low = blurry), for bias slices",
    "box_origin": "`detector` (the app's detector), `annotation` (annotated box, adjusted) or `tight_crop` (whole image)",
    "det_score": "detector confidence (0 when the box came from an annotation)",
}

NON_COMMERCIAL_LICENSE = "CC-BY-NC-SA-4.0"


def column(dataset: Any, name: str) -> list[Any]:
    """One column of a ``datasets.Dataset`` as a Python list (read from Arrow, images not decoded)."""
    return dataset.data.column(name).to_pylist()


def class_counts(dataset_dict: Any) -> dict[str, dict[str, int]]:
    """``{split: {label name: count}}`` for every split, every label listed (zeros included)."""
    counts = {}
    for split, dataset in dataset_dict.items():
        seen = Counter(column(dataset, "label"))
        counts[split] = {name: seen.get(i, 0) for i, name in enumerate(LABELS)}
    return counts


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` value for ``n`` examples."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"


def _ordered_splits(dataset_dict: Any) -> list[str]:
    return [s for s in SPLITS if s in dataset_dict] + sorted(s for s in dataset_dict if s not in SPLITS)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _class_table(dataset_dict: Any) -> str:
    counts = class_counts(dataset_dict)
    rows = [[f"`{s}`", *counts[s].values(), sum(counts[s].values())] for s in _ordered_splits(dataset_dict)]
    totals = [sum(counts[s][name] for s in counts) for name in LABELS]
    rows.append(["**all**", *totals, sum(totals)])
    return _table(["split", *[f"`{name}`" for name in LABELS], "total"], rows)


def _source_rows(dataset_dict: Any) -> dict[str, dict[str, Any]]:
    """Per source: its license, whether synthetic, and its count in each split."""
    rows: dict[str, dict[str, Any]] = {}
    for split in _ordered_splits(dataset_dict):
        dataset = dataset_dict[split]
        names = dataset.column_names
        sources = column(dataset, "source")
        licenses = column(dataset, "license") if "license" in names else ["see source"] * len(sources)
        synthetic = column(dataset, "synthetic") if "synthetic" in names else [False] * len(sources)
        for source, license_, synth in zip(sources, licenses, synthetic):
            row = rows.setdefault(source, {"license": license_, "synthetic": bool(synth), "counts": Counter()})
            row["counts"][split] += 1
    return rows


def _sources_section(dataset_dict: Any) -> str:
    if not all("source" in d.column_names for d in dataset_dict.values()):
        return "## Sources and licenses\n\nThis build of the data carries no `source` column."
    splits = _ordered_splits(dataset_dict)
    rows = _source_rows(dataset_dict)
    table = _table(
        ["source", "what it is", "license", "synthetic", *splits],
        [
            [
                f"[{name}]({SOURCES[name][1]})" if name in SOURCES else name,
                SOURCES.get(name, ("",))[0],
                row["license"],
                "yes" if row["synthetic"] else "no",
                *[row["counts"][s] for s in splits],
            ]
            for name, row in sorted(rows.items())
        ],
    )
    parts = ["## Sources and licenses", "Every crop keeps its source and license in its own columns.", table]
    restricted = {name: row for name, row in rows.items() if row["license"] == NON_COMMERCIAL_LICENSE}
    if restricted:
        n = sum(sum(row["counts"].values()) for row in restricted.values())
        parts.append(
            f"**Non-commercial.** {n} crops ({', '.join(sorted(restricted))}) are synthetic images from MaskedFace-Net, "
            "licensed **CC BY-NC-SA 4.0**: they (and therefore this dataset as a whole) may be used for non-commercial "
            "purposes only, with attribution, and anything derived from them must be shared under the same license. "
            "Filter on `license` or `synthetic` to keep only the other parts."
        )
    if any(row["synthetic"] for row in rows.values()):
        parts.append(
            "The synthetic masks do not transfer well to real photos (a probe trained without real incorrectly worn "
            "masks recognised 13% of them), so measure a model on the real parts separately."
        )
    if "chandrikadeb7" in rows:
        parts.append(
            "The chandrikadeb7 repository is MIT-licensed, but its images were collected from the web without a "
            "per-image license: check the rights of an image before reusing it on its own."
        )
    return "\n\n".join(parts)


def _left_out_section(left_out: dict[str, dict[str, int]] | None) -> str:
    """What the model was trained on that this dataset does not hold, with counts per split and why."""
    if not left_out:
        return ""
    from training.sources import SOURCE_INFO

    rows = []
    for name, counts in sorted(left_out.items()):
        info = SOURCE_INFO.get(name)
        reason = info.reason if info and info.reason else "no licence to redistribute it"
        rows.append(
            [f"[{name}]({SOURCES[name][1]})" if name in SOURCES else name, info.license if info else "unknown", reason,
             *[counts.get(s, 0) for s in SPLITS]]  # fmt: skip
        )
    return (
        "## Left out\n\nThe model trained on this data also used crops that may not be redistributed; they are **not** in "
        "this dataset, so it alone does not reproduce the model exactly:\n\n"
        + _table(["source", "license", "why it is left out", *SPLITS], rows)
    )


def _columns_section(dataset_dict: Any) -> str:
    features = next(iter(dataset_dict.values())).features
    rows = [[f"`{name}`", COLUMNS.get(name, type(feature).__name__)] for name, feature in features.items()]
    return "## Columns\n\n" + _table(["column", "meaning"], rows)


def _making_section(report: dict[str, Any] | None, prepare_config: dict[str, Any]) -> str:
    distance = prepare_config.get("phash_max_distance", "a few")
    fractions = prepare_config.get("split_fractions", (0.7, 0.15, 0.15))
    seed = prepare_config.get("seed", "fixed")
    parts = [
        "## How it was made",
        "Faces were found with the app's own face detector and cropped with the app's margin, so the crops "
        "look like what the classifier sees at inference. In annotated scenes each annotated face takes the "
        "matching detector box (or the annotated box, adjusted to the detector's framing, when none matches); "
        "single-face photos with several detections are dropped.",
        "**Duplicates.** Exact duplicate files with the same label (SHA-1 of the file) and crops with identical "
        f"64-bit perceptual hashes (pHash) are removed. Crops whose hashes differ in at most {distance} bits are "
        "grouped (union-find), and so are near-duplicate scenes; a group always stays in one split, so no face "
        "or scene appears in two splits.",
        f"**Split.** Groups are split {', '.join(f'{f:.0%}' for f in fractions)} into train / validation / test, "
        f"stratified by source and class (rarest class first, seed {seed}).",
    ]
    if report:
        dedupe = report.get("dedupe") or {}
        if dedupe:
            parts.append(_table(["de-duplication step", "count"], [[k.replace("_", " "), v] for k, v in dedupe.items()]))
        dropped = {k: v for k, v in (report.get("crops") or {}).items() if ":dropped" in k or ":unreadable" in k or ":too_small" in k}
        if dropped:
            left_out = [f"{k.split(':')[0]} {k.split(':')[1].replace('_', ' ')}: {v}" for k, v in sorted(dropped.items())]
            parts.append("Images or faces left out: " + "; ".join(left_out) + ".")
    return "\n\n".join(parts)


def card_text(
    dataset_dict: Any,
    repos: RepoIds,
    report: dict[str, Any] | None,
    prepare_config: dict[str, Any],
    left_out: dict[str, dict[str, int]] | None = None,
) -> str:
    """The card's Markdown body."""
    total = sum(len(d) for d in dataset_dict.values())
    label_names = list(LABELS)
    return "\n\n".join(
        [
            "# Face-mask crops",
            f"{total} face crops labelled `with_mask`, `without_mask` or `incorrect_mask`, made to train and test "
            f"the mask classifier [{repos.model}](https://huggingface.co/{repos.model}) of the face-mask detector "
            f"[{repos.space}](https://huggingface.co/spaces/{repos.space}).",
            "## Usage\n\n```python\nfrom datasets import load_dataset\n\n"
            f'ds = load_dataset("{repos.dataset}")\n'
            f'print(ds["train"].features["label"].names)  # {label_names}\n'
            'example = ds["train"][0]  # {"image": PIL.Image, "label": 0, ...}\n```',
            "## Classes per split\n\n" + _class_table(dataset_dict),
            _sources_section(dataset_dict),
            *([_left_out_section(left_out)] if left_out else []),
            _making_section(report, prepare_config),
            _columns_section(dataset_dict),
            "## Intended use and limits\n\n"
            "For training and evaluating classifiers of mask wearing on face crops, for research and education. "
            "It is not meant to identify anyone, nor to check people's compliance automatically: a wrong answer "
            "about a real person has consequences.\n\n"
            "- `incorrect_mask` is the rarest class and partly synthetic; real incorrectly worn masks are few.\n"
            "- Faces from crowd scenes are small (median short side about 25 px) and some labels are noisy "
            "(a hand over the mouth labelled `with_mask`).\n"
            "- The people shown are not a balanced sample of ages, skin tones or mask types; check a model's "
            "accuracy on the slices that matter to you (`face_px`, `brightness`, `sharpness` help).\n"
            "- The images show real people: do not use them to recognise, track or profile anyone.",
        ]
    )


def card_metadata(dataset_dict: Any, base: dict[str, Any] | None = None) -> DatasetCardData:
    """YAML metadata: ``base`` (what ``push_to_hub`` wrote: ``configs``, ``dataset_info``) plus ours."""
    total = sum(len(d) for d in dataset_dict.values())
    data = DatasetCardData(**(base or {}))
    restricted = any(
        "license" in d.column_names and NON_COMMERCIAL_LICENSE in set(column(d, "license")) for d in dataset_dict.values()
    )
    data.license = "other"
    data.license_name = "mixed-see-card" if not restricted else "mixed-includes-cc-by-nc-sa-4.0"
    data.pretty_name = "Face-mask crops"
    data.task_categories = ["image-classification"]
    data.tags = ["face-mask", "faces", "privacy"] + (["synthetic", "non-commercial"] if restricted else [])
    data.size_categories = [size_category(total)]
    return data


def build_card(
    dataset_dict: Any,
    repos: RepoIds,
    report: dict[str, Any] | None,
    prepare_config: dict[str, Any],
    base: dict[str, Any] | None = None,
    left_out: dict[str, dict[str, int]] | None = None,
) -> DatasetCard:
    """The whole dataset card (metadata + text); ``left_out``: rows per split of sources not published, by source."""
    data = card_metadata(dataset_dict, base)
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{card_text(dataset_dict, repos, report, prepare_config, left_out)}\n")
