"""Labels, settings and preprocessing: the pieces every other module relies on."""

from __future__ import annotations

import numpy as np
import pytest

from facemask.config import Settings
from facemask.labels import COLORS, DISPLAY_NAMES, LABELS, label_index
from facemask.preprocess import Preprocess, crop_face, square_box


def test_labels_are_in_logit_order_and_each_has_a_colour_and_name():
    assert LABELS == ("with_mask", "without_mask", "incorrect_mask")
    assert set(COLORS) == set(DISPLAY_NAMES) == set(LABELS)
    assert len(set(COLORS.values())) == 3


def test_unknown_label_is_rejected_with_the_valid_names():
    assert label_index("incorrect_mask") == 2
    with pytest.raises(ValueError, match="with_mask"):
        label_index("masked")


def test_settings_read_environment_overrides(monkeypatch):
    monkeypatch.setenv("FACEMASK_MODEL", "someone/some-model")
    monkeypatch.setenv("FACEMASK_DETECTION_THRESHOLD", "0.8")
    settings = Settings()
    assert settings.model == "someone/some-model"
    assert settings.detection_threshold == 0.8
    assert settings.replace(blur=False).blur is False and settings.blur is True


@pytest.mark.parametrize(
    "changes",
    [{"runtime": "tensorrt"}, {"detector": "haar"}, {"blur_mode": "gaussian"}, {"detection_threshold": 1.5}, {"blur_blocks": 1}],
)
def test_settings_reject_invalid_values(changes):
    with pytest.raises(ValueError):
        Settings(**changes)


def test_non_numeric_threshold_in_environment_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("FACEMASK_DETECTION_THRESHOLD", "high")
    with pytest.raises(ValueError, match="FACEMASK_DETECTION_THRESHOLD"):
        Settings()


def test_square_box_is_centred_on_the_face_and_grown_by_the_margin():
    x0, y0, x1, y1 = square_box((100, 50, 40, 60), margin=0.25, width=500, height=500)
    assert x1 - x0 == y1 - y0 == 90  # 60 * 1.5
    assert (x0 + x1) / 2 == pytest.approx(120, abs=1)
    assert (y0 + y1) / 2 == pytest.approx(80, abs=1)


def test_crop_at_the_image_edge_is_padded_to_a_full_square():
    image = np.arange(100 * 80 * 3, dtype=np.uint8).reshape(100, 80, 3)
    crop = crop_face(image, (0, 0, 30, 40), margin=0.2)
    assert crop.shape == (56, 56, 3)  # 40 px * (1 + 2 * 0.2)


def test_crop_of_a_box_outside_the_image_is_refused():
    with pytest.raises(ValueError, match="outside"):
        crop_face(np.zeros((50, 50, 3), np.uint8), (200, 200, 10, 10), margin=0.1)


def test_preprocess_follows_the_pretrained_cfg():
    cfg = {"input_size": [3, 96, 96], "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "interpolation": "bicubic"}
    prep = Preprocess.from_pretrained_cfg(cfg)
    batch = prep([np.full((30, 50, 3), 255, np.uint8), np.zeros((200, 120, 3), np.uint8)])
    assert batch.shape == (2, 3, 96, 96) and batch.dtype == np.float32
    assert batch[0].max() == pytest.approx(2.0) and batch[1].min() == pytest.approx(-2.0)
    assert prep([]).shape == (0, 3, 96, 96)


def test_preprocess_refuses_non_square_inputs():
    with pytest.raises(ValueError, match="square"):
        Preprocess.from_pretrained_cfg({"input_size": [3, 96, 128]})


@pytest.mark.parametrize("crop_pct", [1.0, 0.875])
@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_preprocess_matches_timms_eval_transform_for_any_crop_shape(crop_pct: float, interpolation: str) -> None:
    from PIL import Image
    from timm.data import create_transform

    cfg = {"input_size": [3, 112, 112], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
           "interpolation": interpolation, "crop_pct": crop_pct}
    prep = Preprocess.from_pretrained_cfg(cfg)
    timm_eval = create_transform(input_size=(3, 112, 112), interpolation=interpolation, mean=cfg["mean"],
                                 std=cfg["std"], crop_pct=crop_pct, crop_mode="center", is_training=False)
    rng = np.random.default_rng(1)
    for shape in [(200, 200), (57, 83), (300, 120), (112, 112), (40, 40)]:
        crop = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        expected = timm_eval(Image.fromarray(crop)).numpy()
        np.testing.assert_allclose(prep([crop])[0], expected, atol=1e-5)


def test_work_on_a_stream_keeps_input_order_and_draws_only_a_few_items_ahead():
    import time

    from facemask.ordered import map_in_order

    drawn: list[int] = []

    def items():
        for i in range(20):
            drawn.append(i)
            yield i

    def slow_for_even(i: int) -> int:
        time.sleep(0.02 if i % 2 == 0 else 0.0)
        return i * i

    results = map_in_order(slow_for_even, items(), workers=2)
    first = next(results)
    assert first == 0 and len(drawn) <= 4  # at most 2 x workers in flight
    assert [first, *results] == [i * i for i in range(20)]


def test_work_on_a_stream_passes_errors_to_the_caller():
    from facemask.ordered import map_in_order

    def fail_on_three(i: int) -> int:
        if i == 3:
            raise ValueError("three")
        return i

    with pytest.raises(ValueError, match="three"):
        list(map_in_order(fail_on_three, range(10), workers=2))
