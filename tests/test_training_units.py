"""Unit tests of the training pipeline's pieces: readers, de-duplication, split, metrics, slices, card."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from facemask.labels import LABELS
from training.config import TrainConfig, load_config
from training.dedupe import hamming_pairs, identical_items, near_duplicate_groups, phash
from training.faces import BoxAdjustment, iou, match_boxes
from training.metrics import classification_metrics, unsafe_errors, wilson_interval
from training.slices import face_slices, mask_colour, size_bin, slice_table
from training.sources import andrewmvd, chandrikadeb7, dataroots, maskedfacenet, maskedfacenet_label
from training.split import group_split

VOC = """<annotation><filename>{name}</filename><size><width>100</width><height>80</height></size>
{objects}</annotation>"""
OBJ = "<object><name>{label}</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"


def _touch_jpg(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff")


def test_andrewmvd_reader_converts_voc_boxes_to_xywh(tmp_path: Path) -> None:
    root = tmp_path / "andrewmvd_dev"
    (root / "annotations").mkdir(parents=True)
    objects = OBJ.format(label="with_mask", x0=10, y0=20, x1=30, y1=50) + OBJ.format(label="mask_weared_incorrect", x0=0, y0=0, x1=5, y1=5)
    (root / "annotations" / "s1.xml").write_text(VOC.format(name="s1.jpg", objects=objects))
    _touch_jpg(root / "images" / "s1.jpg")
    (images,) = andrewmvd(tmp_path)
    assert images.source == "andrewmvd_dev" and images.license == "CC0-1.0" and not images.synthetic
    assert [(f.label, f.box) for f in images.faces] == [("with_mask", (10.0, 20.0, 20.0, 30.0))]


def test_maskedfacenet_reader_labels_from_file_names_and_is_synthetic(tmp_path: Path) -> None:
    root = tmp_path / "maskedfacenet"
    for stem in ("00001_Mask", "00002_Mask_Chin", "00003_Mask_Mouth_Chin", "augmented_image_7"):
        _touch_jpg(root / "images" / f"{stem}.jpg")
    (root / "annotations").mkdir()
    (root / "annotations" / "00001_Mask.xml").write_text(VOC.format(name="00001_Mask.jpg", objects=OBJ.format(label="with_mask", x0=1, y0=2, x1=11, y1=22)))
    images = {p.path.stem: p for p in maskedfacenet(tmp_path)}
    assert {k: v.label for k, v in images.items()} == {
        "00001_Mask": "with_mask",
        "00002_Mask_Chin": "incorrect_mask",
        "00003_Mask_Mouth_Chin": "incorrect_mask",
        "augmented_image_7": "without_mask",
    }
    assert images["00001_Mask"].faces[0].box == (1.0, 2.0, 10.0, 20.0)
    assert all(v.synthetic and "NC" in v.license for v in images.values())
    with pytest.raises(ValueError):
        maskedfacenet_label("00004_Scarf")


def test_chandrikadeb7_reader_takes_labels_from_folders(tmp_path: Path) -> None:
    for label, name in (("with_mask", "a.jpg"), ("without_mask", "b.png"), ("without_mask", "notes.txt")):
        _touch_jpg(tmp_path / "chandrikadeb7" / label / name)
    assert sorted((p.path.name, p.label) for p in chandrikadeb7(tmp_path)) == [("a.jpg", "with_mask"), ("b.png", "without_mask")]


def test_dataroots_reader_groups_boxes_per_image_with_its_split(tmp_path: Path) -> None:
    root = tmp_path / "dataroots_scenes"
    root.mkdir()
    (root / "boxes.csv").write_text(
        "image,label,x,y,w,h,split,source_url\n"
        "1.jpg,masked,1,2,30,40,test,u\n1.jpg,not_masked,50,2,30,40,test,u\n2.jpg,masked,0,0,9,9,validation,u\n"
    )
    images = {p.path.name: p for p in dataroots(tmp_path)}
    assert [f.label for f in images["1.jpg"].faces] == ["with_mask", "without_mask"]
    assert images["1.jpg"].split == "test" and images["2.jpg"].split == "validation"
    assert images["1.jpg"].faces[1].box == (50.0, 2.0, 30.0, 40.0)


def _textured(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return np.kron(small, np.ones((16, 16, 1), dtype=np.uint8))


def test_near_duplicates_share_a_group_and_distinct_images_do_not() -> None:
    base, other = _textured(1), _textured(2)
    brighter = np.clip(base.astype(int) + 12, 0, 255).astype(np.uint8)
    hashes = [phash(base), phash(other), phash(brighter), phash(base[:, ::-1].copy())]
    groups = near_duplicate_groups(hashes, max_distance=6)
    assert groups[0] == groups[2]
    assert groups[0] != groups[1]
    assert len(set(groups)) == 3


def test_grouping_is_transitive_through_chains() -> None:
    # 0-1 and 1-2 are within 2 bits, 0-2 are 4 bits apart: all three end in one group (union-find)
    hashes = [0b0000, 0b0011, 0b1111, (1 << 64) - 1]
    assert hamming_pairs(hashes, 2) == [(0, 1, 2), (1, 2, 2)]
    groups = near_duplicate_groups(hashes, 2)
    assert groups[0] == groups[1] == groups[2] != groups[3]


def test_identical_items_drop_repeats_with_the_same_label_only() -> None:
    assert identical_items([5, 5, 5, 7], ["with_mask", "with_mask", "without_mask", "with_mask"]) == [1]


def _split_fixture() -> tuple[list[str], list[str], list[str]]:
    rng = np.random.default_rng(0)
    groups, labels, strata = [], [], []
    for g in range(600):
        label = LABELS[0] if g < 400 else LABELS[1] if g < 540 else LABELS[2]
        for _ in range(int(rng.integers(1, 4))):
            groups.append(f"g{g}")
            labels.append(label)
            strata.append("a" if g % 2 else "b")
    return groups, labels, strata


def test_split_is_stratified_70_15_15_and_groups_never_span_splits() -> None:
    groups, labels, strata = _split_fixture()
    splits = group_split(groups, labels, strata, (0.7, 0.15, 0.15), seed=3)
    where = defaultdict(set)
    for g, s in zip(groups, splits):
        where[g].add(s)
    assert all(len(s) == 1 for s in where.values())
    for label in LABELS:
        counts = Counter(s for s, lab in zip(splits, labels) if lab == label)
        total = sum(counts.values())
        assert abs(counts["train"] / total - 0.70) < 0.05
        assert abs(counts["validation"] / total - 0.15) < 0.05
        assert abs(counts["test"] / total - 0.15) < 0.05


def test_split_is_reproducible_with_a_seed_and_changes_with_another() -> None:
    groups, labels, strata = _split_fixture()
    assert group_split(groups, labels, strata, seed=1) == group_split(groups, labels, strata, seed=1)
    assert group_split(groups, labels, strata, seed=1) != group_split(groups, labels, strata, seed=2)


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson_interval(8, 10)
    assert math.isclose(low, 0.4902, abs_tol=1e-3) and math.isclose(high, 0.9433, abs_tol=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 50)
    assert low == 0.0 and 0.05 < high < 0.08


def test_classification_metrics_on_a_hand_made_example() -> None:
    # true: 3 with, 2 without, 1 incorrect; one without called with (unsafe), one incorrect called with
    true = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 0, 1, 0, 0]
    m = classification_metrics(true, pred)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[3, 0, 0], [1, 1, 0], [1, 0, 0]]
    assert m["per_class"]["with_mask"]["precision"] == pytest.approx(3 / 5)
    assert m["per_class"]["without_mask"]["recall"] == pytest.approx(0.5)
    f1_with = 2 * (3 / 5) * 1 / (3 / 5 + 1)
    assert m["macro_f1"] == pytest.approx((f1_with + 2 / 3 + 0) / 3)
    assert (m["unsafe_errors"], m["unsafe_error_rate"]) == (1, 0.5)
    assert unsafe_errors(true, pred) == (1, 2)


def test_slice_table_counts_and_accuracy_per_value() -> None:
    slices = [face_slices(px, 120, 300, LABELS[y], "dark", False) for px, y in ((20, 0), (20, 1), (80, 0), (80, 1))]
    rows = {(r["slice"], r["value"]): r for r in slice_table(slices, [0, 1, 0, 1], [0, 0, 0, 1])}
    small = rows[("face size", "16-31 px")]
    assert (small["n"], small["accuracy"], small["unsafe_errors"], small["without_mask_n"]) == (2, 0.5, 1, 1)
    assert rows[("face size", "64-127 px")]["accuracy"] == 1.0
    assert rows[("mask colour", "no mask")]["n"] == 2 and rows[("mask colour", "dark")]["n"] == 2
    assert size_bin(15.9) == "<16 px" and size_bin(128) == ">=128 px"


def test_mask_colour_tells_dark_light_and_patterned_masks_apart() -> None:
    crop = np.full((100, 100, 3), 180, dtype=np.uint8)
    dark, light, patterned = crop.copy(), crop.copy(), crop.copy()
    dark[55:90] = 30
    light[55:90] = 235
    patterned[55:90] = np.where((np.arange(100) // 4 % 2)[None, :, None] == 0, 20, 240)
    assert [mask_colour(c) for c in (dark, light, patterned)] == ["dark", "light", "patterned"]


def test_box_matching_is_one_to_one_by_iou() -> None:
    annotations = [(0, 0, 10, 10), (100, 100, 10, 10), (50, 50, 10, 10)]
    detections = [(101, 101, 10, 10), (1, 0, 10, 10)]
    assert match_boxes(annotations, detections, 0.3) == [1, 0, None]
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0 and iou((0, 0, 10, 10), (20, 0, 5, 5)) == 0.0


def test_box_adjustment_learns_a_systematic_offset() -> None:
    pairs = [((0, 0, 10, 10), (0, -2, 10, 12)), ((10, 10, 20, 20), (10, 6, 20, 24))]
    adj = BoxAdjustment.fit(pairs)
    assert adj.apply((0, 0, 10, 10)) == pytest.approx((0, -2, 10, 12))
    assert BoxAdjustment.fit([]).apply((1, 2, 3, 4)) == (1, 2, 3, 4)


def test_config_file_holds_every_hyper_parameter_and_rejects_unknown_keys(tmp_path: Path) -> None:
    assert load_config() == TrainConfig(**{k: v for k, v in load_config().to_dict().items()})
    assert set(load_config().to_dict()) == set(TrainConfig().to_dict())
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 3\nlearning_rate: 0.1\n")
    with pytest.raises(ValueError, match="learning_rate"):
        load_config(bad)
    ok = tmp_path / "ok.yaml"
    ok.write_text("epochs: 3\naug_scale: [0.9, 1.1]\n")
    assert load_config(ok).epochs == 3 and load_config(ok).aug_scale == (0.9, 1.1)


def _faces(logits, labels, two_class=None, groups=None):
    from training.calibrate import DecisionFaces

    n = len(labels)
    return DecisionFaces(
        np.asarray(logits, dtype=np.float32), np.asarray(labels), groups or [f"g{i}" for i in range(n)],
        np.zeros(n, dtype=bool) if two_class is None else np.asarray(two_class),
    )  # fmt: skip


def test_the_rule_is_chosen_to_recover_real_incorrect_faces_that_lean_to_another_class() -> None:
    from training.calibrate import best_bias, rule_report

    # real incorrect faces score a bit under without_mask: an incorrect_mask offset fixes them, the rest stay right
    logits = [[3.0, 0, 0]] * 8 + [[0, 3.0, 0]] * 8 + [[0, 1.0, 0.6]] * 6 + [[0, 0, 3.0]] * 2
    labels = [0] * 8 + [1] * 8 + [2] * 8
    faces = _faces(logits, labels)
    bias, score = best_bias(faces, unsafe_weight=1.0, two_class_share=0.0)
    assert rule_report(faces, [0, 0, 0])["incorrect_recall"] == 0.25
    assert bias[1] == 0.0 and 0.4 < bias[2] - bias[0] and bias[2] - bias[1] > 0.4
    assert rule_report(faces, bias)["incorrect_recall"] == 1.0 and score == pytest.approx(1.0)


def test_two_class_faces_count_through_masked_accuracy_and_unsafe_error_only() -> None:
    from training.calibrate import rule_report, rule_score

    # a dataroots bare face called incorrect_mask is right (not masked); called with_mask it is unsafe
    faces = _faces([[0, 0, 2.0], [2.0, 0, 0], [3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0]], [1, 1, 0, 1, 2], two_class=[True, True, False, False, False])
    report = rule_report(faces, [0, 0, 0])
    assert report["two_class_accuracy"] == 0.5 and report["macro_f1"] == 1.0
    assert report["unsafe_error_rate"] == pytest.approx(1 / 3)
    assert rule_score(faces, [0, 0, 0], unsafe_weight=1.0, two_class_share=0.5) == pytest.approx(0.75 - 1 / 3)


def test_fast_macro_f1_agrees_with_the_metric_module() -> None:
    from training.calibrate import macro_f1

    rng = np.random.default_rng(0)
    for _ in range(5):
        true, pred = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
        assert macro_f1(true, pred) == pytest.approx(classification_metrics(true, pred)["macro_f1"])
    true = np.array([0, 0, 1, 1])  # a class absent from the truth is left out of the mean, as the module does
    assert macro_f1(true, np.array([0, 2, 1, 1])) == pytest.approx(classification_metrics(true, [0, 2, 1, 1])["macro_f1"])


def test_group_folds_keep_groups_whole_and_spread_the_real_incorrect_faces() -> None:
    from training.calibrate import group_folds

    labels = [2] * 10 + [0] * 30
    groups = [f"i{i // 2}" for i in range(10)] + [f"w{i // 3}" for i in range(30)]
    folds = group_folds(_faces(np.zeros((40, 3)), labels, groups=groups), folds=5, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(40))
    where = {}
    for k, fold in enumerate(folds):
        for i in fold:
            where.setdefault(groups[i], set()).add(k)
    assert all(len(v) == 1 for v in where.values())
    assert [sum(labels[i] == 2 for i in fold) for fold in folds] == [2] * 5


def test_few_real_incorrect_faces_mean_cross_validation_and_no_offset_when_it_does_not_help() -> None:
    from training.calibrate import choose_rule

    # already right without an offset: held-out folds cannot gain, so the rule stays at zero
    logits = [[3.0, 0, 0]] * 10 + [[0, 3.0, 0]] * 10 + [[0, 0, 3.0]] * 10
    labels = [0] * 10 + [1] * 10 + [2] * 10
    bias, report = choose_rule(_faces(logits, labels), 1.0, 0.25, cv_min_incorrect=100, folds=5, seed=0)
    assert bias == [0.0, 0.0, 0.0]
    assert "cross-validation" in report["method"] and report["cross_validation"]["folds"] == 5
    assert not report["cross_validation"]["kept"] and report["real_incorrect_faces"] == 10
    bias, report = choose_rule(_faces(logits, labels), 1.0, 0.25, cv_min_incorrect=5, folds=5, seed=0)
    assert report["method"] == "all decision faces" and report["cross_validation"] is None


def test_cross_validated_rule_moves_real_incorrect_faces_it_can_recover() -> None:
    from training.calibrate import choose_rule

    logits = [[3.0, 0, 0]] * 20 + [[0, 3.0, 0]] * 20 + [[0, 1.0, 0.5]] * 15 + [[0, 0, 3.0]] * 5
    labels = [0] * 20 + [1] * 20 + [2] * 20
    bias, report = choose_rule(_faces(logits, labels), 1.0, 0.25, cv_min_incorrect=100, folds=5, seed=1)
    assert report["cross_validation"]["kept"]
    assert bias[2] - bias[1] > 0.5
    assert report["after"]["incorrect_recall"] == 1.0 and report["before"]["incorrect_recall"] == 0.25


def test_calibrate_folds_the_rule_into_the_weights_and_leaves_no_side_key(tmp_path: Path, astronaut: np.ndarray) -> None:
    import json
    import shutil

    from facemask.config import BUNDLED_MODEL_DIR
    from facemask.model import MaskClassifier
    from training.calibrate import calibrate

    folder = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL_DIR, folder)
    crops = [astronaut[40:240, 150:350], astronaut[:200, :200], astronaut[200:, 200:], astronaut[100:300, 100:300]]
    before = MaskClassifier.from_pretrained(folder, "onnx")
    raw = before.logits(before.preprocess(crops))
    # label every crop with the class it scores lowest: only a large offset can move any of them
    labels = raw.argmin(axis=1)
    report = calibrate(folder, crops, labels, [f"g{i}" for i in range(4)], np.zeros(4, dtype=bool), 1.0, 0.25, 0, 2, 0)
    assert report["folded"] and report["method"] == "all decision faces"
    assert "logit_bias" not in json.loads((folder / "config.json").read_text())
    after = MaskClassifier.from_pretrained(folder, "onnx")
    np.testing.assert_allclose(after.logits(after.preprocess(crops)), raw + np.array(report["logit_bias"]), atol=1e-3)


def test_decision_faces_are_real_photo_validation_faces_and_dataroots_only(tmp_path: Path) -> None:
    from training.prepare import DATAROOTS_VALIDATION, FaceRecord, _to_dataset
    from training.sources import SourceImage
    from training.train import load_decision_set

    crop = np.zeros((16, 16, 3), dtype=np.uint8)
    records = [FaceRecord(crop, "with_mask", SourceImage(Path("d.jpg"), "dataroots_scenes"), 20.0, "detector", 0.9, "scene-d", "validation")]
    _to_dataset(records).save_to_disk(str(tmp_path / DATAROOTS_VALIDATION))
    validation = {
        "crops": [crop] * 4,
        "labels": np.array([2, 2, 1, 0]),
        "sources": ["maskedfacenet", "closeups_dev", "andrewmvd_dev", "chandrikadeb7"],
        "groups": ["a", "b", "c", "d"],
    }
    decision = load_decision_set(tmp_path, validation)
    assert decision["labels"].tolist() == [2, 1, 0]  # synthetic and web-portrait faces take no part
    assert decision["groups"] == ["b", "c", "dataroots:scene-d"]
    assert decision["two_class"].tolist() == [False, False, True]
    assert decision["validation_index"].tolist() == [1, 2] and decision["from_validation"] == 2


def test_cli_refuses_to_train_without_a_prepared_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.cli import main

    assert main(["train", "--dataset", str(tmp_path / "none")]) == 2
    assert "python -m training prepare" in capsys.readouterr().err


def test_reproduce_command_names_data_config_and_overrides() -> None:
    from training.cli import build_parser, reproduce_command

    args = build_parser().parse_args(["evaluate", "--set", "epochs=3"])
    command = reproduce_command(args)
    assert command.startswith("python -m training all --data-dir ")
    assert "--config training/config.yaml" in command and "--out models/facemask-mobilenetv2" in command
    assert command.endswith("--set epochs=3")


def test_rwmfd_reader_groups_the_reviewed_faces_by_photo(tmp_path: Path) -> None:
    from training.sources import rwmfd

    root = tmp_path / "rwmfd_masked_unlabelled" / "RWMFD_part_1"
    _touch_jpg(root / "0000" / "0001.jpg")
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "file,x,y,w,h,label,origin\n"
        "0000/0001.jpg,1,2,30,40,with_mask,review\n"
        "0000/0001.jpg,50,2,30,40,incorrect_mask,review\n"
        "0000/0404.jpg,1,2,30,40,with_mask,model_agreed\n"  # a photo that is not on disk is skipped
    )
    (photo,) = rwmfd(tmp_path, labels)
    assert photo.source == "rwmfd" and photo.label is None and not photo.synthetic
    assert [(f.label, f.box) for f in photo.faces] == [("with_mask", (1.0, 2.0, 30.0, 40.0)), ("incorrect_mask", (50.0, 2.0, 30.0, 40.0))]


def test_the_shipped_review_file_holds_only_known_labels_and_origins() -> None:
    import csv

    from training.sources import REVIEWS_DIR

    with open(REVIEWS_DIR / "rwmfd_part1.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 1000
    assert {r["label"] for r in rows} == set(LABELS)
    assert {r["origin"] for r in rows} == {"review", "model_agreed"}
    assert all(r["label"] == "with_mask" for r in rows if r["origin"] == "model_agreed")
    assert all(float(r["w"]) >= 24 or float(r["h"]) >= 24 for r in rows)


def test_sampling_weights_apply_source_and_real_incorrect_weights() -> None:
    from training.train import sampling_probabilities

    labels = np.array([0, 0, 2, 2])
    sources = ["chandrikadeb7", "andrewmvd_dev", "maskedfacenet", "andrewmvd_dev"]
    config = TrainConfig(class_weight_power=0.0, source_weight={"andrewmvd_dev": 2.0}, real_incorrect_weight=3.0)
    p = sampling_probabilities(labels, sources, config)
    np.testing.assert_allclose(p, np.array([1, 2, 1, 6]) / 10)


def test_prepare_refuses_an_unknown_source(tmp_path: Path) -> None:
    from training.prepare import prepare

    with pytest.raises(ValueError, match="unknown sources"):
        prepare(tmp_path, tmp_path / "out", TrainConfig(sources=("andrewmvd_dev", "nope")))


def test_closeups_reader_takes_labels_from_the_three_class_folders(tmp_path: Path) -> None:
    from training.sources import closeups

    for label, name in (("with_mask", "a.jpg"), ("incorrect_mask", "b.jpg"), ("without_mask", "c.png"), ("without_mask", "x.txt")):
        _touch_jpg(tmp_path / "closeups_dev" / label / name)
    images = closeups(tmp_path)
    assert sorted((p.path.name, p.label) for p in images) == [("a.jpg", "with_mask"), ("b.jpg", "incorrect_mask"), ("c.png", "without_mask")]
    assert all(p.source == "closeups_dev" and not p.synthetic for p in images)


def test_every_source_carries_its_license_and_whether_it_may_be_published() -> None:
    from training.sources import SOURCE_INFO, TRAINING_SOURCES, publishable

    assert set(TRAINING_SOURCES) | {"dataroots_scenes"} <= set(SOURCE_INFO)
    assert not publishable("closeups_dev") and not publishable("rwmfd") and not publishable("someone_elses")
    assert publishable("andrewmvd_dev") and publishable("maskedfacenet") and publishable("chandrikadeb7")
    assert all(info.reason for info in SOURCE_INFO.values() if not info.publishable)


def test_main_face_is_the_large_central_one_not_a_bystander() -> None:
    from facemask.detect import Face
    from training.faces import main_face, whole_image_face

    main = Face((80, 70, 100, 110), 0.7)
    bystander = Face((0, 0, 60, 60), 0.95)
    big_in_corner = Face((170, 170, 86, 86), 0.9)  # the same size as main but at the edge: discounted
    assert main_face([bystander, big_in_corner, main], 256, 256) is main
    assert main_face([], 256, 256) is None
    box = whole_image_face(256, 200, 0.2).box
    from facemask.preprocess import square_box

    x0, y0, x1, y1 = square_box(box, 0.2, 256, 200)
    assert (x1 - x0, y1 - y0) == (200, 200) and x0 == 28 and y0 == 0


def test_main_face_metrics_count_no_face_as_a_miss_of_the_photos_class() -> None:
    from training.scenes import main_face_metrics

    rows = [
        {"image": "a", "label": "incorrect_mask", "predicted": "incorrect_mask"},
        {"image": "b", "label": "incorrect_mask", "predicted": None},
        {"image": "c", "label": "without_mask", "predicted": "with_mask"},
        {"image": "d", "label": "without_mask", "predicted": "without_mask"},
        {"image": "e", "label": "with_mask", "predicted": "with_mask"},
    ]
    m = main_face_metrics(rows)
    assert m["incorrect_recall"] == 0.5 and m["no_face"] == 1 and m["no_face_rate"] == 0.2
    assert m["unsafe_errors"] == 1 and m["unsafe_error_rate"] == 0.5
    assert set(m["per_class"]) == set(LABELS)
    f1 = {"with_mask": 2 / 3, "without_mask": 2 / 3, "incorrect_mask": 2 / 3}
    assert m["macro_f1"] == pytest.approx(np.mean(list(f1.values())))
    assert m["found"]["n"] == 4 and m["no_face_by_class"]["incorrect_mask"] == 1


def test_training_threads_take_the_configured_count_or_the_idle_cores() -> None:
    import os

    from training.train import training_threads

    assert training_threads(3) == 3
    assert 1 <= training_threads(0) <= len(os.sched_getaffinity(0))
