"""One config holding every hyper-parameter, read from ``training/config.yaml``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG = Path(__file__).with_name("config.yaml")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of prepare, train and evaluate (see ``config.yaml`` for what each means)."""

    seed: int = 42
    sources: tuple[str, ...] = ("andrewmvd_dev", "maskedfacenet", "chandrikadeb7", "closeups_dev")
    crop_store_px: int = 160
    det_match_iou: float = 0.3
    single_face_score: float = 0.6
    min_face_px: int = 8
    phash_max_distance: int = 6
    split_fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    tight_crop_min_cover: float = 0.35
    input_size: int = 112
    epochs: int = 8
    samples_per_epoch: int = 2048
    batch_size: int = 64
    lr: float = 0.001
    frozen_blocks: int = 2
    weight_decay: float = 0.01
    label_smoothing: float = 0.05
    warmup_epochs: int = 1
    lr_time_aware: bool = True
    patience: int = 4
    train_budget_s: float = 1440.0
    class_weight_power: float = 0.5
    source_weight: dict[str, float] = field(default_factory=lambda: {"andrewmvd_dev": 2.0, "closeups_dev": 3.0})
    real_incorrect_weight: float = 3.0
    ema_decay: float = 0.0
    num_threads: int = 0
    calib_unsafe_weight: float = 1.0
    decision_two_class_share: float = 0.25
    calib_cv_min_incorrect: int = 100
    calib_cv_folds: int = 5
    aug_scale: tuple[float, float] = (0.85, 1.15)
    aug_shift: float = 0.08
    aug_rotate_deg: float = 10.0
    aug_flip: float = 0.5
    aug_downscale_p: float = 0.5
    aug_downscale_px: tuple[int, int] = (12, 40)
    aug_blur_p: float = 0.25
    aug_blur_sigma: tuple[float, float] = (0.3, 1.5)
    aug_jitter: float = 0.25
    aug_jpeg_p: float = 0.4
    aug_jpeg_quality: tuple[int, int] = (30, 90)
    scene_match_iou: float = 0.3
    small_face_px: int = 32

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for metrics.json and the model card)."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None) -> TrainConfig:
    """Read a YAML config; unknown keys are an error, missing keys keep their defaults."""
    data = yaml.safe_load(Path(path or DEFAULT_CONFIG).read_text()) or {}
    known = {f.name: f for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown config keys: {', '.join(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return TrainConfig(**values)
