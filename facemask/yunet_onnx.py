"""YuNet on OpenVINO or ONNX Runtime: the graph ``cv2.FaceDetectorYN`` runs, decoded the same way, faster.

OpenCV's DNN engine took about twice as long as ONNX Runtime for YuNet at 640x480 on 2 cores, and
OpenVINO less again (see ``benchmarks/``). This module feeds the same zero-padded BGR input to the same ONNX file
(OpenVINO builds it inside the compiled graph from the RGB uint8 image: no extra copies) and reproduces OpenCV's post-processing (``modules/objdetect/src/face_detect.cpp``): per stride, score
``sqrt(cls * obj)``, box centre offsets and log sizes, five landmarks, then ``cv2.dnn.NMSBoxes`` on
integer boxes. Rows are ``x, y, w, h, 5 x (x, y) landmarks, score``, as ``FaceDetectorYN.detect`` gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Literal

import cv2
import numpy as np

from .model import onnx_session

GraphEngine = Literal["openvino", "onnxruntime"]

STRIDES = (8, 16, 32)
DIVISOR = 32


class YuNetOnnx:
    """YuNet's ONNX graph on one engine (a shared session or compiled-graph pool; thread-safe) plus OpenCV's decoding."""

    def __init__(
        self,
        model_path: str | Path,
        score_threshold: float,
        nms_threshold: float,
        top_k: int = 5000,
        engine: GraphEngine = "onnxruntime",
        precision: str = "f32",
    ):
        self.engine = engine
        self._outputs = [f"{kind}_{s}" for kind in ("cls", "obj", "bbox", "kps") for s in STRIDES]
        self._run, names = _runner(Path(model_path), engine, self._outputs, precision)
        missing = set(self._outputs) - set(names)
        if missing:
            raise ValueError(f"{model_path} is not a YuNet graph (no outputs {sorted(missing)})")
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.top_k = int(top_k)

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """Faces in an RGB uint8 image as an ``N x 15`` float32 array, best first after NMS."""
        height, width = rgb.shape[:2]
        pad_h = ((height - 1) // DIVISOR + 1) * DIVISOR
        pad_w = ((width - 1) // DIVISOR + 1) * DIVISOR
        if (pad_h, pad_w) != (height, width):
            rgb = cv2.copyMakeBorder(rgb, 0, pad_h - height, 0, pad_w - width, cv2.BORDER_CONSTANT, value=0)
        outputs = self._run(rgb)
        n = len(STRIDES)
        rows = [
            self._decode(outputs[i], outputs[n + i], outputs[2 * n + i], outputs[3 * n + i], stride, pad_w // stride)
            for i, stride in enumerate(STRIDES)
        ]
        faces = np.concatenate(rows)
        if len(faces) == 0:
            return faces
        boxes = faces[:, :4].astype(np.int32).tolist()  # OpenCV truncates to Rect2i before NMS
        keep = cv2.dnn.NMSBoxes(boxes, faces[:, 14].tolist(), self.score_threshold, self.nms_threshold, top_k=self.top_k)
        return faces[np.asarray(keep, dtype=np.int64).reshape(-1)]

    def _decode(
        self, cls: np.ndarray, obj: np.ndarray, bbox: np.ndarray, kps: np.ndarray, stride: int, cols: int
    ) -> np.ndarray:
        """Rows for the anchors of one stride whose score passes the threshold (NMS drops the rest)."""
        score = np.sqrt(np.clip(cls[0, :, 0], 0.0, 1.0) * np.clip(obj[0, :, 0], 0.0, 1.0))
        keep = np.flatnonzero(score > self.score_threshold)
        row, col = np.divmod(keep, cols)
        row, col = row.astype(np.float32)[:, None], col.astype(np.float32)[:, None]
        box, marks = bbox[0, keep], kps[0, keep]
        centre = (np.hstack([col, row]) + box[:, :2]) * stride
        size = np.exp(box[:, 2:4]) * stride
        landmarks = (marks + np.tile(np.hstack([col, row]), 5)) * stride
        return np.hstack([centre - size / 2, size, landmarks, score[keep, None]]).astype(np.float32)


def bgr_blob(rgb: np.ndarray) -> np.ndarray:
    """The ``1 x 3 x H x W`` float32 BGR blob YuNet was trained on, from an RGB uint8 image."""
    return np.ascontiguousarray(rgb[:, :, ::-1].transpose(2, 0, 1)[None], dtype=np.float32)


def with_bgr_input(model: object) -> object:
    """OpenVINO preprocessing: take the RGB uint8 ``1 x H x W x 3`` image, feed the graph its float BGR NCHW blob."""
    from openvino import Layout, Type
    from openvino.preprocess import ColorFormat, PrePostProcessor

    ppp = PrePostProcessor(model)
    ppp.input().tensor().set_element_type(Type.u8).set_layout(Layout("NHWC")).set_color_format(ColorFormat.RGB)
    ppp.input().preprocess().convert_element_type(Type.f32).convert_color(ColorFormat.BGR)
    ppp.input().model().set_layout(Layout("NCHW"))
    return ppp.build()


def _runner(
    path: Path, engine: GraphEngine, wanted: list[str], precision: str
) -> tuple[Callable[[np.ndarray], list[np.ndarray]], list[str]]:
    """``padded RGB image -> outputs`` in ``wanted`` order on ``engine``, and every output name the graph has."""
    if engine == "openvino":
        from .openvino_graph import OpenVinoGraph

        graph = OpenVinoGraph(path, prepare=with_bgr_input, precision=precision)
        names = graph.output_names
        order = [names.index(n) for n in wanted if n in names]

        def run(rgb: np.ndarray) -> list[np.ndarray]:
            outputs = graph.run(rgb[None])
            return [outputs[i] for i in order]

        return run, names
    session = onnx_session(path)
    name = session.get_inputs()[0].name
    return (lambda rgb: session.run(wanted, {name: bgr_blob(rgb)})), [o.name for o in session.get_outputs()]
