"""Model soup: the weights of several training runs averaged into one model (Wortsman et al., ICML 2022).

Every run starts from the same weights (the ImageNet backbone and a zero head, :func:`training.train.create_model`)
and differs only in its seed (the order faces are drawn in and their augmentation), so the runs end in one basin
and their average is a model of the same size and speed, in the paper usually better than each run and less a
matter of which seed was lucky. Here it was not (README, What we tried, E): the command stays for trying it on new
data or recipes; the default model is one run. The soup's decision rule is chosen again on the real validation faces
(:func:`training.calibrate.calibrate`) and folded into its weights, as after training.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Sequence

from facemask.model import WEIGHTS_NAME, read_config

from .calibrate import DecisionFaces, best_bias
from .config import TrainConfig
from .train import ARCHITECTURE, load_decision_set, load_split, predict_logits, pretrained_cfg, save_calibrated

log = logging.getLogger(__name__)


def average_state_dicts(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The mean of each floating-point tensor over ``states``; integer ones (BatchNorm's batch counters) from the first."""
    if not states:
        raise ValueError("a soup needs at least one ingredient")
    keys = set(states[0])
    for state in states[1:]:
        if set(state) != keys:
            raise ValueError(f"ingredients differ in their tensors: {sorted(keys ^ set(state))[:5]}")
    averaged = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            averaged[key] = sum(state[key].double() for state in states).div(len(states)).to(first.dtype)
        else:
            averaged[key] = first.clone()
    return averaged


def _ingredient_state(folder: Path, input_size: int) -> dict[str, Any]:
    """An ingredient's weights, after checking it is the architecture and input size the soup is made for."""
    from safetensors.torch import load_file

    config = read_config(folder)
    if config.get("architecture") != ARCHITECTURE:
        raise ValueError(f"{folder}: architecture {config.get('architecture')!r}, expected {ARCHITECTURE}")
    size = tuple(config["pretrained_cfg"]["input_size"])
    if size != (3, input_size, input_size):
        raise ValueError(f"{folder}: input size {size}, the soup is made at {input_size} px")
    return load_file(str(folder / WEIGHTS_NAME))


def _model(state: dict[str, Any]) -> Any:
    import timm

    from facemask.labels import LABELS

    model = timm.create_model(ARCHITECTURE, pretrained=False, num_classes=len(LABELS))
    model.load_state_dict(state)
    return model.eval()


def selection_score(model: Any, decision: dict[str, Any], config: TrainConfig) -> float:
    """The trainer's selection score of ``model`` on the real decision faces, with its best offsets."""
    from facemask.preprocess import Preprocess

    preprocess = Preprocess.from_pretrained_cfg(pretrained_cfg(config.input_size))
    faces = DecisionFaces(predict_logits(model, preprocess, decision["crops"]), decision["labels"], decision["groups"],
                          decision["two_class"])
    return float(best_bias(faces, config.calib_unsafe_weight, config.decision_two_class_share)[1])


def soup(ingredients: Sequence[Path], dataset_dir: Path, out_dir: Path, config: TrainConfig) -> dict[str, Any]:
    """Average ``ingredients`` (model folders) into ``out_dir``, export ONNX, choose and fold the decision rule.

    Returns a summary for ``evaluate`` (recorded in metrics.json and the model card): each ingredient's and the
    soup's selection score on the real validation faces, and the soup's decision rule.
    """
    folders = [Path(f) for f in ingredients]
    if out_dir.resolve() in {f.resolve() for f in folders}:
        raise ValueError("the soup would overwrite one of its ingredients")
    states = [_ingredient_state(folder, config.input_size) for folder in folders]
    decision = load_decision_set(dataset_dir, load_split(dataset_dir, "validation"))
    scores = {str(folder): selection_score(_model(state), decision, config) for folder, state in zip(folders, states)}
    model = _model(average_state_dicts(states))
    soup_score = selection_score(model, decision, config)
    log.info("selection score of the ingredients %s, of their soup %.4f", json.dumps(scores), soup_score)
    calibration = save_calibrated(model, out_dir, config, decision)
    return {
        "soup": {"ingredients": [str(f) for f in folders], "ingredient_selection_scores": scores,
                 "selection_score": soup_score},
        "best_selection_score": soup_score,
        "calibration": calibration,
    }
