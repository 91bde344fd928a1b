"""ONNX graphs run by OpenVINO's CPU plugin: the fastest engine measured for both of our graphs on 2 cores.

The same ``.onnx`` files ONNX Runtime runs (the classifier's ``model.onnx``, YuNet's file) are read by
OpenVINO and compiled once, keeping their dynamic dimensions (batch size, image size): static shapes
were no faster once measured, and compiling one per image size cost about 250 ms and 30-70 MB each.
Infer requests are pooled, so concurrent requests never share one. Figures: ``benchmarks/bench.py``.
"""

from __future__ import annotations

import collections
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .cpu import usable_cores

_CORE: Any = None
_CORE_LOCK = threading.Lock()


def _core() -> Any:
    """One OpenVINO ``Core`` per process (it owns the CPU plugin and its thread pool)."""
    global _CORE
    with _CORE_LOCK:
        if _CORE is None:
            import openvino as ov

            _CORE = ov.Core()
        return _CORE


def compile_config(precision: str) -> dict[str, Any]:
    """Latency-first settings for a small shared machine: one stream, one thread per usable core, no pinning.

    ``precision`` ``"f32"`` keeps results equal to PyTorch's; ``"auto"`` lets the CPU plugin pick (bf16 on
    CPUs with AVX512-BF16/AMX: faster, with about 1e-2 error in the outputs).
    """
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": usable_cores(), "ENABLE_CPU_PINNING": False}
    if precision != "auto":
        config["INFERENCE_PRECISION_HINT"] = precision
    return config


class OpenVinoGraph:
    """An ONNX file compiled for the CPU; :meth:`run` is thread-safe.

    ``prepare`` may add OpenVINO preprocessing to the read model (it then defines the input :meth:`run`
    takes); ``precision`` is passed to :func:`compile_config`.
    """

    def __init__(self, path: str | Path, prepare: Callable[[Any], Any] | None = None, precision: str = "f32") -> None:
        core = _core()
        model = core.read_model(str(path))
        if len(model.inputs) != 1:
            raise ValueError(f"{path}: expected one input, found {len(model.inputs)}")
        if prepare is not None:
            model = prepare(model)
        self.output_names = [output.get_any_name() for output in model.outputs]
        self._compiled = core.compile_model(model, "CPU", compile_config(precision))
        self._free: collections.deque[Any] = collections.deque()

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """All outputs (in the graph's order) for one input array."""
        try:
            request = self._free.pop()
        except IndexError:
            request = self._compiled.create_infer_request()
        try:
            request.infer({0: np.ascontiguousarray(batch)})
            return [request.get_output_tensor(i).data.copy() for i in range(len(self.output_names))]
        finally:
            self._free.append(request)
