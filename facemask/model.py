"""The mask classifier: one loader for a Hub repo id or a local folder in timm's Hub layout.

A model folder holds ``config.json`` (``architecture``, ``num_classes``, ``label_names``,
``pretrained_cfg``) and ``model.safetensors``; it loads with plain timm too
(``timm.create_model("local-dir:<folder>", pretrained=True)`` or ``"hf-hub:<repo>"``). An
optional ``model.onnx`` beside them, exported from the same weights, is the fast CPU runtime.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .config import Runtime, Settings
from .labels import LABELS
from .preprocess import Preprocess

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
ONNX_NAME = "model.onnx"
MODEL_FILES = (CONFIG_NAME, WEIGHTS_NAME, ONNX_NAME, "README.md", "metrics.json", "*.png")


def resolve_model_dir(source: str | Path) -> Path:
    """A local folder for ``source``: the folder itself, or a Hub repo's snapshot in the HF cache."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if path.exists() or str(source).startswith((".", "/", "~")) or str(source).count("/") != 1:
        raise FileNotFoundError(f"model {source!s} is neither a model folder nor a Hub repo id (owner/name)")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id=str(source), allow_patterns=list(MODEL_FILES)))


def read_config(folder: Path) -> dict[str, Any]:
    """Read and check a model folder's ``config.json``."""
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} is missing: not a timm model folder")
    config = json.loads(config_path.read_text())
    labels = tuple(config.get("label_names") or ())
    if labels != LABELS:
        raise ValueError(f"{config_path}: label_names {list(labels)} differ from {list(LABELS)}")
    return config


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 for stability, returned as float32."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def check_no_side_rule(config: dict[str, Any], config_path: Path | str = CONFIG_NAME) -> None:
    """Refuse a folder whose decision rule lives beside the weights instead of in them.

    Older folders carried a calibrated ``logit_bias`` in ``config.json`` that only this package
    applied, so timm and transformers gave other probabilities. :func:`fold_logit_bias` moves it
    into the classifier's bias, after which every loader computes the same answer.
    """
    if config.get("logit_bias") is not None:
        raise ValueError(
            f"{config_path} carries a logit_bias that timm and transformers would ignore; fold it into the "
            "weights with facemask.model.fold_logit_bias(folder) so every loader gives the same answer"
        )


class MaskClassifier:
    """Classifies face crops as ``with_mask`` / ``without_mask`` / ``incorrect_mask``.

    Use :meth:`from_pretrained`; call :meth:`predict_proba` with RGB uint8 crops of any size.
    """

    def __init__(self, folder: Path, config: dict[str, Any], runtime: Runtime = "auto", source: str | None = None,
                 threads: int = 0):
        self.folder = folder
        self.source = source or str(folder)
        self.config = config
        self.labels: tuple[str, ...] = LABELS
        self.preprocess = Preprocess.from_pretrained_cfg(config["pretrained_cfg"])
        check_no_side_rule(config, folder / CONFIG_NAME)
        self._session: Any = None
        self._onnx_input = ""
        self._onnx_outputs: list[str] = []
        self._torch_model: Any = None
        self._threads = threads
        self.runtime = self._load(runtime)

    @classmethod
    def from_pretrained(cls, source: str | Path | None = None, runtime: Runtime | None = None,
                        threads: int = 0) -> "MaskClassifier":
        """Load from a Hub repo id (``owner/name``) or a local folder; defaults come from :class:`Settings`
        (``threads``: ONNX Runtime intra-op threads, 0 for one per core)."""
        settings = Settings()
        source = source if source is not None else settings.model
        folder = resolve_model_dir(source)
        return cls(folder, read_config(folder), runtime or settings.runtime, source=str(source), threads=threads)

    def _load(self, runtime: Runtime) -> str:
        onnx_path = self.folder / ONNX_NAME
        if runtime in ("auto", "onnx"):
            if onnx_path.is_file():
                try:
                    self._session = onnx_session(onnx_path, self._threads)
                    self._onnx_input = self._session.get_inputs()[0].name
                    self._onnx_outputs = [self._session.get_outputs()[0].name]
                    return "onnx"
                except Exception as exc:  # a broken or incompatible graph must not take the app down
                    if runtime == "onnx":
                        raise
                    log.warning("ONNX runtime unavailable (%s: %s); falling back to PyTorch", type(exc).__name__, exc)
            elif runtime == "onnx":
                raise FileNotFoundError(f"{onnx_path} is missing; export it with `python -m facemask export`")
            else:
                log.info("no %s in %s; using PyTorch", ONNX_NAME, self.folder)
        self._torch_model = self.torch_model()
        return "torch"

    def torch_model(self) -> Any:
        """The timm model (eval mode), loaded from the folder with timm's own ``local-dir:`` loader."""
        if self._torch_model is None:
            import timm

            self._torch_model = timm.create_model(f"local-dir:{self.folder}", pretrained=True).eval()
        return self._torch_model

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits for a preprocessed ``N x 3 x S x S`` float32 batch."""
        if len(batch) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if self._session is not None:
            return self._session.run(self._onnx_outputs, {self._onnx_input: batch})[0]
        import torch

        with torch.inference_mode():
            return self._torch_model(torch.from_numpy(batch)).float().numpy()

    def predict_proba(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities (``N x 3``, columns in :data:`LABELS` order) for RGB uint8 crops."""
        return softmax(self.logits(self.preprocess(crops)))

    def __repr__(self) -> str:
        return f"MaskClassifier(source={self.source!r}, runtime={self.runtime!r}, input={self.preprocess.size}px)"


def onnx_threads() -> int:
    """Intra-op threads of the ONNX session: one per core this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def onnx_session(path: Path, threads: int = 0) -> Any:
    """A CPU session tuned for a small machine (see benchmarks/: measured on 2 cores).

    Sequential execution with ``threads`` intra-op threads (0: one per core); the threads sleep instead of spinning
    between runs, so they leave the CPU to OpenCV's detector and to concurrent requests (spinning
    measured slower on 2 busy cores). The arena and memory pattern reuse buffers across runs.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or onnx_threads()
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = True
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def save_pretrained(model: Any, folder: str | Path, input_size: int, extra_config: dict[str, Any] | None = None) -> Path:
    """Write a timm model to ``folder`` in timm's Hub layout with our labels and input size."""
    from timm.models import save_for_hf

    folder = Path(folder)
    model_config: dict[str, Any] = {"label_names": list(LABELS)}
    model_config.update(extra_config or {})
    save_for_hf(
        model,
        str(folder),
        model_config=model_config,
        safe_serialization=True,
        data_config={"input_size": (3, input_size, input_size), "crop_pct": 1.0},
    )
    strip_model_args(folder)
    return folder


def strip_model_args(folder: str | Path) -> None:
    """Remove ``model_args`` from ``config.json``: it repeats ``num_classes``, which transformers'
    timm wrapper passes itself ("got multiple values for keyword argument 'num_classes'"); timm
    needs only ``architecture`` and ``num_classes``."""
    path = Path(folder) / CONFIG_NAME
    config = json.loads(path.read_text())
    if config.pop("model_args", None) is not None:
        path.write_text(json.dumps(config, indent=2) + "\n")


def fold_logit_bias(folder: str | Path, bias: Sequence[float] | None = None) -> Path:
    """Put a per-class logit offset into the classifier's bias, so the rule lives in the weights.

    ``bias`` defaults to ``config.json`` → ``logit_bias`` (older folders). ``model.safetensors``
    gets ``classifier.bias += bias``, the key leaves ``config.json``, and ``model.onnx`` is exported
    again from the new weights (checked against PyTorch). Logits move by exactly ``bias``, so
    softmax(new logits) == softmax(old logits + bias) for every loader: timm, transformers, ours.
    """
    from safetensors.numpy import load_file, save_file

    folder = Path(folder)
    config_path = folder / CONFIG_NAME
    config = json.loads(config_path.read_text())
    offsets = np.asarray(config.get("logit_bias") if bias is None else bias, dtype=np.float32)
    if offsets.shape != (len(LABELS),) or not np.all(np.isfinite(offsets)):
        raise ValueError(f"the logit offset must be {len(LABELS)} finite numbers, got {bias!r}")
    weights_path = folder / WEIGHTS_NAME
    tensors = load_file(str(weights_path))
    key = "classifier.bias"
    if key not in tensors or tensors[key].shape != offsets.shape:
        raise ValueError(f"{weights_path} has no {len(LABELS)}-class {key}")
    tensors[key] = (tensors[key].astype(np.float32) + offsets).astype(tensors[key].dtype)
    partial = folder / f".{WEIGHTS_NAME}.partial"
    save_file(tensors, str(partial), metadata={"format": "pt"})
    os.replace(partial, weights_path)
    config.pop("logit_bias", None)
    config.pop("model_args", None)
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    if (folder / ONNX_NAME).is_file():
        from .export import export_onnx

        export_onnx(folder)
    return folder
