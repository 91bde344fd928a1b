"""``train``: fine-tune timm MobileNetV2 on the face crops, early-stopped on validation macro-F1."""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from facemask.labels import LABELS
from facemask.model import ONNX_NAME, read_config, save_pretrained
from facemask.preprocess import Preprocess

from .augment import Augmenter
from .calibrate import DecisionFaces, best_bias, calibrate, rule_report
from .config import TrainConfig
from .metrics import classification_metrics
from .sources import REAL_PHOTO_SOURCES

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ARCHITECTURE = "mobilenetv2_100"
"""The timm model every run fine-tunes (and every soup ingredient must be)."""


def pretrained_cfg(input_size: int) -> dict[str, Any]:
    """The preprocessing the model is trained with; saved into ``config.json`` as its ``pretrained_cfg``."""
    return {
        "input_size": (3, input_size, input_size),
        "interpolation": "bilinear",
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
        "crop_pct": 1.0,
    }


def load_split(dataset_dir: Path, split: str) -> dict[str, Any]:
    """Crops (RGB uint8 arrays), labels and sources of one split of the saved ``DatasetDict``."""
    import datasets

    return _columns(datasets.load_from_disk(str(dataset_dir))[split])


def _columns(ds: Any) -> dict[str, Any]:
    return {
        "crops": [np.asarray(img.convert("RGB")) for img in ds["image"]],
        "labels": np.asarray(ds["label"], dtype=np.int64),
        "sources": list(ds["source"]),
        "groups": list(ds["group"]),
        "table": ds.remove_columns("image"),
    }


DATAROOTS_VALIDATION = "dataroots_validation"
"""Beside the saved DatasetDict (written by ``prepare``): dataroots' validation faces, for the decision rule only."""


def load_decision_set(dataset_dir: Path, validation: dict[str, Any]) -> dict[str, Any]:
    """The real validation faces every decision is made on: real-photo sources (three classes) + dataroots (two).

    Returns crops, labels, groups and a ``two_class`` mask; synthetic and web-portrait faces are left out. The first
    ``from_validation`` faces are the validation split's rows ``validation_index`` (their logits can be reused).
    """
    import datasets

    real = real_photo_mask(validation["sources"])
    crops = [c for c, r in zip(validation["crops"], real) if r]
    labels = list(validation["labels"][real])
    groups = [g for g, r in zip(validation["groups"], real) if r]
    two_class = [False] * len(crops)
    extra = dataset_dir / DATAROOTS_VALIDATION
    if (extra / "dataset_info.json").is_file():
        d = _columns(datasets.load_from_disk(str(extra)))
        crops += d["crops"]
        labels += list(d["labels"])
        groups += [f"dataroots:{g}" for g in d["groups"]]
        two_class += [True] * len(d["crops"])
    return {
        "crops": crops,
        "labels": np.asarray(labels, dtype=np.int64),
        "groups": groups,
        "two_class": np.asarray(two_class, dtype=bool),
        "validation_index": np.flatnonzero(real),
        "from_validation": int(real.sum()),
    }


def training_threads(configured: int) -> int:
    """``configured`` threads, or with 0 one per core that other processes leave idle (at least one).

    On 2 cores shared with other jobs, two PyTorch threads fighting for them measured 4x slower per batch
    than one (31 s vs 8 s for 64 faces at a load average of 12); on idle cores two are faster.
    """
    if configured > 0:
        return configured
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return int(max(1, min(cores, round(cores - busy))))


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def create_model(weights: Path | None) -> Any:
    """MobileNetV2 with a 3-class head, from a local ImageNet file or (``None``) timm's Hub weights."""
    import timm

    if weights is None:
        model = timm.create_model(ARCHITECTURE, pretrained=True, num_classes=len(LABELS))
    elif not weights.is_file():
        raise FileNotFoundError(f"ImageNet weights {weights} not found (pass --weights, or --hub-weights when online)")
    else:
        model = timm.create_model(
            ARCHITECTURE, pretrained=True, num_classes=len(LABELS), pretrained_cfg_overlay={"file": str(weights)}
        )
    model.classifier.weight.data.zero_()  # a zero head starts at uniform probabilities: no early loss spike
    model.classifier.bias.data.zero_()
    return model


def predict_logits(model: Any, preprocess: Preprocess, crops: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Logits for un-augmented crops, through the shared preprocessing."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(crops), batch_size):
            out.append(model(torch.from_numpy(preprocess(crops[i : i + batch_size]))).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(LABELS)), dtype=np.float32)


def sampling_probabilities(labels: np.ndarray, sources: list[str], config: TrainConfig) -> np.ndarray:
    """Probability of drawing each face: class weight (inverse frequency ** power) x source weight.

    Real ``incorrect_mask`` faces (the rarest and most valuable) get ``real_incorrect_weight`` on top.
    """
    counts = np.bincount(labels, minlength=len(LABELS)).astype(np.float64)
    class_w = (counts.max() / np.maximum(counts, 1)) ** config.class_weight_power
    source_w = np.array([config.source_weight.get(s, 1.0) for s in sources])
    incorrect = labels == LABELS.index("incorrect_mask")
    weights = class_w[labels] * source_w * np.where(incorrect & real_photo_mask(sources), config.real_incorrect_weight, 1.0)
    return weights / weights.sum()


def real_photo_mask(sources: list[str]) -> np.ndarray:
    """Which faces come from real photos of people in the wild (:data:`REAL_PHOTO_SOURCES`)."""
    return np.array([s in REAL_PHOTO_SOURCES for s in sources], dtype=bool)


def freeze_early_layers(model: Any, blocks: int) -> list[Any]:
    """Keep the stem and the first ``blocks`` stages at their ImageNet weights; returns those modules."""
    frozen = [model.conv_stem, model.bn1, *model.blocks[:blocks]] if blocks > 0 else []
    for module in frozen:
        for p in module.parameters():
            p.requires_grad = False
    return frozen


def train_mode(model: Any, frozen: list[Any]) -> None:
    """Training mode, except frozen modules whose BatchNorm statistics stay fixed."""
    model.train()
    for module in frozen:
        module.eval()


def save_calibrated(model: Any, out_dir: Path, config: TrainConfig, decision: dict[str, Any]) -> dict[str, Any]:
    """Save ``model`` in timm's Hub layout, export ONNX, choose the decision rule on the real decision faces and fold
    it into the weights; returns the rule's report."""
    from facemask.export import export_onnx

    cfg = pretrained_cfg(config.input_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ONNX_NAME).unlink(missing_ok=True)
    save_pretrained(model, out_dir, config.input_size, extra_config={"pretrained_cfg": {"tag": "facemask", "license": "cc-by-nc-sa-4.0", **cfg}})
    saved, expected = Preprocess.from_pretrained_cfg(read_config(out_dir)["pretrained_cfg"]), Preprocess.from_pretrained_cfg(cfg)
    if saved != expected:
        raise RuntimeError(f"saved preprocessing {saved} differs from training's {expected}")
    export_onnx(out_dir)
    calibration = calibrate(
        out_dir, decision["crops"], decision["labels"], decision["groups"], decision["two_class"],
        config.calib_unsafe_weight, config.decision_two_class_share, config.calib_cv_min_incorrect, config.calib_cv_folds, config.seed,
    )  # fmt: skip
    log.info("calibrated decision rule: %s", calibration)
    return calibration


def train(dataset_dir: Path, out_dir: Path, config: TrainConfig, weights: Path | None) -> dict[str, Any]:
    """Fine-tune, keep the epoch that decides best on the real validation faces, save, export ONNX, calibrate and fold."""
    import torch
    import torch.nn.functional as F

    threads = training_threads(config.num_threads)
    torch.set_num_threads(threads)
    log.info("training on %d thread(s)", threads)
    seed_everything(config.seed)
    train_set, val_set = load_split(dataset_dir, "train"), load_split(dataset_dir, "validation")
    cfg = pretrained_cfg(config.input_size)
    preprocess = Preprocess.from_pretrained_cfg(cfg)
    model = create_model(weights)
    frozen = freeze_early_layers(model, config.frozen_blocks)
    augment = Augmenter(config, config.seed)
    probabilities = sampling_probabilities(train_set["labels"], train_set["sources"], config)
    decision = load_decision_set(dataset_dir, val_set)
    log.info(
        "%d train / %d validation faces; decisions on %d real validation faces (%d real incorrect_mask, %d two-class)",
        len(train_set["labels"]), len(val_set["labels"]), len(decision["labels"]),
        int(np.sum((decision["labels"] == LABELS.index("incorrect_mask")) & ~decision["two_class"])), int(decision["two_class"].sum()),
    )  # fmt: skip
    if not len(decision["labels"]):
        raise ValueError("no real validation faces to decide on: add a real-photo source (closeups_dev, andrewmvd_dev)")

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(config.samples_per_epoch / config.batch_size)
    total, warmup = config.epochs * steps_per_epoch, config.warmup_epochs * steps_per_epoch

    clock: dict[str, float] = {}

    def lr_at(step: int) -> float:
        """Linear warm-up, then cosine decay over the steps or, with ``lr_time_aware``, over the time budget if that ends first."""
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(total - warmup, 1)
        if config.lr_time_aware and "start" in clock:
            progress = max(progress, (time.monotonic() - clock["start"]) / config.train_budget_s)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    ema = None
    if config.ema_decay:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    evaluated = model if ema is None else ema.module  # the weights validated, kept and saved
    rng = np.random.default_rng(config.seed)
    best: dict[str, Any] = {"score": -1.0}
    history = []
    stale = 0
    started = clock["start"] = time.monotonic()
    for epoch in range(config.epochs):
        elapsed = time.monotonic() - started
        if epoch and elapsed + elapsed / epoch > config.train_budget_s:
            log.info("time budget: another epoch would pass %d s; stopping after %d epochs", config.train_budget_s, epoch)
            break
        train_mode(model, frozen)
        order = rng.choice(len(probabilities), size=config.samples_per_epoch, p=probabilities)
        losses = []
        bar = tqdm(range(0, len(order), config.batch_size), desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch")
        for start in bar:
            idx = order[start : start + config.batch_size]
            if len(idx) < 2:
                continue
            x = torch.from_numpy(preprocess([augment(train_set["crops"][i]) for i in idx]))
            y = torch.from_numpy(train_set["labels"][idx])
            loss = F.cross_entropy(model(x), y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            losses.append(float(loss))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        val_logits = predict_logits(evaluated, preprocess, val_set["crops"])
        val_pred = val_logits.argmax(axis=1)
        val = classification_metrics(val_set["labels"], val_pred)
        extra = predict_logits(evaluated, preprocess, decision["crops"][decision["from_validation"] :])
        faces = DecisionFaces(
            np.concatenate([val_logits[decision["validation_index"]], extra]), decision["labels"], decision["groups"], decision["two_class"]
        )
        bias, score = best_bias(faces, config.calib_unsafe_weight, config.decision_two_class_share)
        real = rule_report(faces, bias)
        row = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "val_macro_f1": val["macro_f1"],
            "val_accuracy": val["accuracy"],
            "val_unsafe": val["unsafe_error_rate"],
            "real_macro_f1": real["macro_f1"],
            "real_incorrect_recall": real["incorrect_recall"],
            "real_two_class_accuracy": real["two_class_accuracy"] or 0.0,
            "real_unsafe": real["unsafe_error_rate"],
            "selection_score": score,
        }
        history.append(row)
        log.info("epoch %d: %s", epoch + 1, json.dumps({k: round(v, 4) for k, v in row.items()}))
        if row["selection_score"] > best["score"]:
            state = copy.deepcopy(evaluated.state_dict())
            best = {"score": row["selection_score"], "macro_f1": val["macro_f1"], "epoch": epoch + 1, "state": state}
            stale = 0
        else:
            stale += 1
            if stale >= config.patience:
                log.info("early stop: no real-photo validation gain for %d epochs", stale)
                break
    model = evaluated
    model.load_state_dict(best["state"])
    calibration = save_calibrated(model.eval(), out_dir, config, decision)
    return {
        "best_epoch": best["epoch"],
        "best_val_macro_f1": best["macro_f1"],
        "best_selection_score": best["score"],
        "history": history,
        "calibration": calibration,
    }
