"""``prepare`` on a small subset of ../shared/data: a DatasetDict of detector-made crops, grouped splits."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from facemask.labels import LABELS
from training.config import load_config
from training.prepare import prepare


@pytest.fixture(scope="module")
def prepared(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dataset")
    prepare(shared_data, out, load_config(), limit=4)
    return out


def test_prepare_saves_a_dataset_dict_with_image_and_classlabel_features(prepared: Path) -> None:
    import datasets

    dd = datasets.load_from_disk(str(prepared))
    assert set(dd) == {"train", "validation", "test"}
    features = dd["train"].features
    assert isinstance(features["image"], datasets.Image)
    assert features["label"].names == list(LABELS)
    for column in ("source", "license", "group", "face_px", "brightness", "synthetic", "file"):
        assert column in features
    rows = datasets.concatenate_datasets(list(dd.values()))
    assert set(rows["source"]) == {"andrewmvd_dev", "maskedfacenet", "chandrikadeb7", "closeups_dev"}
    assert all(s == (src == "maskedfacenet") for s, src in zip(rows["synthetic"], rows["source"]))
    image = rows[0]["image"]
    assert image.size[0] == image.size[1] <= load_config().crop_store_px


def test_prepare_keeps_every_group_and_scene_in_one_split(prepared: Path) -> None:
    import datasets

    dd = datasets.load_from_disk(str(prepared))
    where: dict[str, set[str]] = defaultdict(set)
    for split, ds in dd.items():
        for group, source, name in zip(ds["group"], ds["source"], ds["file"]):
            where[group].add(split)
            if source == "andrewmvd_dev":
                where[f"scene:{name}"].add(split)
    assert where and all(len(s) == 1 for s in where.values())


def test_prepare_reports_crops_and_duplicates(prepared: Path) -> None:
    report = json.loads((prepared / "prepare_report.json").read_text())
    assert report["faces"] == sum(report["split_counts"].values())
    assert any(key.startswith("andrewmvd_dev:detector") for key in report["crops"])
    assert {"identical_crops_removed", "near_duplicate_groups"} <= set(report["dedupe"])


def test_prepare_takes_one_main_face_per_close_up_and_counts_how_it_was_found(prepared: Path) -> None:
    import datasets

    report = json.loads((prepared / "prepare_report.json").read_text())
    dd = datasets.load_from_disk(str(prepared))
    rows = datasets.concatenate_datasets(list(dd.values()))
    closeups = [o for o, s in zip(rows["box_origin"], rows["source"]) if s == "closeups_dev"]
    counted = sum(v for k, v in report["crops"].items() if k.startswith("closeups_dev:"))
    assert closeups and len(closeups) <= counted  # one crop per photo (fewer after de-duplication)
    assert set(closeups) <= {"detector", "tight_crop", "whole_image"}


def test_prepare_keeps_dataroots_validation_faces_aside_for_the_decision_rule(prepared: Path) -> None:
    import datasets

    from training.prepare import DATAROOTS_VALIDATION

    extra = datasets.load_from_disk(str(prepared / DATAROOTS_VALIDATION))
    assert len(extra) and set(extra["source"]) == {"dataroots_scenes"}
    assert {LABELS[i] for i in extra["label"]} <= {"with_mask", "without_mask"}
    dd = datasets.load_from_disk(str(prepared))
    assert "dataroots_scenes" not in set(datasets.concatenate_datasets(list(dd.values()))["source"])  # never trained on
