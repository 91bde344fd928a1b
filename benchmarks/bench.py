"""Speed and memory of the facemask pipeline on this machine, with the naive baseline in the same run.

Run from the repository root: ``python -m benchmarks.bench`` (about 3 minutes on 2 idle cores; ``--quick``
for a smoke run). Prints a table and writes every figure to ``benchmarks/results.json`` (or ``--out``).
Figures are milliseconds unless named otherwise; latency is median and p95 over many runs after a
warm-up. Timings are only comparable within one run: note the load average printed with them.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from facemask import MaskClassifier, Pipeline, Settings
from facemask.config import REPO_DIR
from facemask.detect import YufaceDetector, YuNetDetector
from facemask.model import onnx_threads
from facemask.preprocess import crop_face

from .frames import FaceSource, compose, encode_jpeg, find_faces, source_images
from .timing import measure, per_item, throughput

DEFAULT_OUT = REPO_DIR / "benchmarks" / "results.json"
FACE_COUNTS = (1, 4, 16)
INPUT_SIZES = (96, 112, 128, 160, 224)


@dataclass(frozen=True)
class Plan:
    """How long to measure each figure."""

    runs: int
    batch_runs: int
    slow_runs: int
    """Runs for yuface, which is an order of magnitude slower (a comparison, not our path)."""
    warmup: int
    stream_seconds: float
    sizes: tuple[int, ...]
    probe_frames: int


FULL = Plan(runs=60, batch_runs=50, slow_runs=20, warmup=10, stream_seconds=3.0, sizes=INPUT_SIZES, probe_frames=20)
QUICK = Plan(runs=5, batch_runs=3, slow_runs=2, warmup=2, stream_seconds=0.3, sizes=(96,), probe_frames=2)


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, load and library versions."""
    import onnxruntime

    cpu_model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "onnxruntime": onnxruntime.__version__,
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
    }


def _versions_with_torch(info: dict[str, Any]) -> None:
    import timm
    import torch

    info["torch"] = torch.__version__
    info["timm"] = timm.__version__
    info["torch_threads"] = torch.get_num_threads()


def classification(classifier: MaskClassifier, crops: list[np.ndarray], plan: Plan) -> dict[str, Any]:
    """Per-crop latency of ``predict_proba`` (preprocessing included) at batch 1 and batch 8."""
    batch8 = measure(lambda i: classifier.predict_proba(crops[:8]), plan.batch_runs, plan.warmup)
    return {
        "runtime": classifier.runtime,
        "input_px": classifier.preprocess.size,
        "batch1_per_crop": measure(lambda i: classifier.predict_proba([crops[i % len(crops)]]), plan.runs, plan.warmup),
        "batch8_per_crop": per_item(batch8, 8),
        "batch8_per_batch": batch8,
    }


def classification_by_size(crops: list[np.ndarray], plan: Plan) -> dict[str, Any]:
    """ONNX latency at each candidate input size (a MobileNetV2 with a random head: speed only)."""
    import timm

    from facemask.export import export_onnx
    from facemask.model import read_config, save_pretrained

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in plan.sizes:
            folder = Path(tmp) / str(size)
            save_pretrained(timm.create_model("mobilenetv2_100", pretrained=False, num_classes=3), folder, size)
            export_onnx(folder)
            classifier = MaskClassifier(folder, read_config(folder), runtime="onnx")
            figures = classification(classifier, crops, plan)
            results[str(size)] = {k: figures[k] for k in ("batch1_per_crop", "batch8_per_crop")}
    return results


def detection(detector: Any, frames: dict[str, np.ndarray], runs: int, warmup: int) -> dict[str, Any]:
    """Latency of ``detector.detect`` on each named frame."""
    return {name: measure(lambda i: detector.detect(frame), runs, warmup) for name, frame in frames.items()}


def end_to_end(pipeline: Pipeline, jpegs: dict[str, bytes], plan: Plan) -> dict[str, Any]:
    """JPEG bytes -> decode -> detect -> classify -> blur -> draw -> JPEG bytes, per frame."""

    def run(data: bytes) -> bytes:
        image = pipeline.load(data)
        rendered = pipeline.render(image, pipeline.analyze(image))
        return encode_jpeg(rendered)

    return {name: measure(lambda i: run(data), plan.runs, plan.warmup) for name, data in jpegs.items()}


def in_memory(pipeline: Pipeline, frames: dict[str, np.ndarray], plan: Plan) -> dict[str, Any]:
    """``analyze`` + ``render`` on decoded frames (the pipeline without image codecs)."""
    return {
        name: measure(lambda i: pipeline.render(frame, pipeline.analyze(frame)), plan.runs, plan.warmup)
        for name, frame in frames.items()
    }


def webcam_handler(pipeline: Pipeline) -> tuple[str, Callable[[bytes], object]]:
    """The app's streaming handler when ``app/`` is importable, else the pipeline; with its description."""
    try:
        importlib.import_module("app.app")
        handlers = importlib.import_module("handlers").Handlers(pipeline)
    except ImportError:
        def run(data: bytes) -> object:
            image = pipeline.load(data)
            return encode_jpeg(pipeline.render(image, pipeline.analyze(image)))

        return "Pipeline.load + analyze + render + JPEG encode (app not importable)", run

    def handle(data: bytes) -> object:
        payload = {"url": "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")}
        outputs = handlers.detect_frame(payload, pipeline.settings.detection_threshold, True, "eyes")
        return encode_jpeg(outputs[0])  # the processed frame comes first; Gradio then encodes it

    return "app handlers.Handlers.detect_frame on JPEG data-URL frames + JPEG encode of the output", handle


def webcam(pipeline: Pipeline, jpegs: dict[str, bytes], plan: Plan) -> dict[str, Any]:
    """Frames per second the webcam path sustains, back to back on one stream."""
    path, handle = webcam_handler(pipeline)
    figures: dict[str, Any] = {"path": path}
    for name in ("1_face", "4_faces"):
        figures[name] = throughput(lambda i: handle(jpegs[name]), plan.stream_seconds)
    return figures


def memory(what: str, plan: Plan) -> dict[str, Any]:
    """Peak RSS of a fresh process running :mod:`benchmarks.memory_probe`."""
    command = [sys.executable, "-m", "benchmarks.memory_probe", what, "--frames", str(plan.probe_frames)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe {what} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline(jpegs: dict[str, bytes], frames: dict[str, np.ndarray], plan: Plan) -> dict[str, Any]:
    """The naive baseline's figures: one whole-frame classification, per-frame latency and throughput."""
    from .baseline import NaiveClassifier

    naive = NaiveClassifier()
    settings = Settings()
    frame = frames["1_face"]

    def run(data: bytes) -> bytes:
        from facemask.io import load_image

        image = load_image(data, settings)
        naive([image])
        return encode_jpeg(image)

    batch8 = measure(lambda i: naive([frame] * 8), plan.batch_runs, plan.warmup)
    return {
        "what": "timm mobilenetv2_100, eager PyTorch fp32, whole frame resized to 224x224",
        "classification_224": measure(lambda i: naive([frame]), plan.runs, plan.warmup),
        "classification_224_batch8_per_image": per_item(batch8, 8),
        "end_to_end": {name: measure(lambda i: run(data), plan.runs, plan.warmup) for name, data in jpegs.items()},
        "webcam": throughput(lambda i: run(jpegs["1_face"]), plan.stream_seconds),
    }


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 5 with the measured value (medians) and whether it is met."""
    base = r["baseline"]["classification_224"]["median_ms"]
    rows = [
        ("classification per face, batch 1 (ms)", 4.0, r["classification"]["batch1_per_crop"]["median_ms"]),
        (f"{r['detector']} detection 640x480 (ms)", 12.0, r["detection"][r["detector"]]["640x480"]["median_ms"]),
        ("end-to-end 640x480, 1 face (ms)", 20.0, r["end_to_end"]["1_face"]["median_ms"]),
        ("end-to-end 640x480, 4 faces (ms)", 30.0, r["end_to_end"]["4_faces"]["median_ms"]),
        ("pipeline (analyze+render) 1 face / baseline classification", 0.3, r["in_memory"]["1_face"]["median_ms"] / base),
        ("end-to-end 1 face / baseline classification", 0.3, r["end_to_end"]["1_face"]["median_ms"] / base),
        ("app process peak memory (MiB)", 1024.0, r["memory"]["app"]["peak_rss_mib"]),
    ]
    return [{"name": n, "target": t, "value": round(v, 3), "met": bool(v <= t)} for n, t, v in rows]


def ratios(r: dict[str, Any]) -> dict[str, float]:
    """Ours divided by the baseline (below 1 means faster or smaller)."""
    base = r["baseline"]
    return {
        "classification_per_face_vs_baseline": round(
            r["classification"]["batch1_per_crop"]["median_ms"] / base["classification_224"]["median_ms"], 3
        ),
        **{
            f"end_to_end_{name}_vs_baseline": round(
                r["end_to_end"][name]["median_ms"] / base["end_to_end"][name]["median_ms"], 3
            )
            for name in r["end_to_end"]
        },
        "webcam_fps_1_face_vs_baseline": round(r["webcam"]["1_face"]["fps"] / base["webcam"]["fps"], 3),
        "peak_memory_vs_baseline": round(
            r["memory"]["app"]["peak_rss_mib"] / r["memory"]["baseline"]["peak_rss_mib"], 3
        ),
    }


def _line(name: str, stats: dict[str, Any]) -> str:
    return f"  {name:<34} median {stats['median_ms']:8.2f} ms   p95 {stats['p95_ms']:8.2f} ms   (n={stats['runs']})"


def report(r: dict[str, Any]) -> str:
    """The human-readable table."""
    m = r["machine"]
    lines = [
        f"machine: {m['cores']} cores, {m['cpu_model']}; python {m['python']}, onnxruntime {m['onnxruntime']}, "
        f"opencv {m['opencv']}, torch {m.get('torch', '-')}, timm {m.get('timm', '-')}",
        f"threads: {json.dumps(r['threads'])}",
        f"load average: start {m['load_average_start']}, end {m['load_average_end']}",
        f"detector: {r['detector']} ({r.get('detector_engine', '-')})",
        f"images: {r['images']['source']}; faces detected per frame {r['images']['faces_detected']}",
        f"classification ({r['classification']['runtime']}, {r['classification']['input_px']} px), per crop:",
        _line("batch 1", r["classification"]["batch1_per_crop"]),
        _line("batch 8", r["classification"]["batch8_per_crop"]),
        "classification by input size (ONNX), per crop:",
        *[
            line
            for size, fig in r["classification_by_input_size"].items()
            for line in (_line(f"{size} px batch 1", fig["batch1_per_crop"]), _line(f"{size} px batch 8", fig["batch8_per_crop"]))
        ],
        "detection:",
        *[_line(f"{name} {res}", s) for name, fig in r["detection"].items() for res, s in fig.items()],
        "end to end (JPEG decode -> detect -> classify -> blur -> draw -> JPEG encode):",
        *[_line(name, s) for name, s in r["end_to_end"].items()],
        "pipeline in memory (analyze + render):",
        *[_line(name, s) for name, s in r["in_memory"].items()],
        f"webcam path: {r['webcam']['path']}",
        *[f"  {name:<34} {r['webcam'][name]['fps']:8.1f} frames/s" for name in ("1_face", "4_faces")],
        f"peak memory: app {r['memory']['app']['peak_rss_mib']:.0f} MiB (torch imported: "
        f"{r['memory']['app']['torch_imported']}; {r['memory']['app']['ran']}), "
        f"baseline {r['memory']['baseline']['peak_rss_mib']:.0f} MiB",
        f"baseline: {r['baseline']['what']}",
        _line("classification 224", r["baseline"]["classification_224"]),
        _line("classification 224, batch 8 per image", r["baseline"]["classification_224_batch8_per_image"]),
        *[_line(f"end to end {name}", s) for name, s in r["baseline"]["end_to_end"].items()],
        f"  {'webcam':<34} {r['baseline']['webcam']['fps']:8.1f} frames/s",
        "ours / baseline: " + ", ".join(f"{k} {v}" for k, v in r["ratios"].items()),
        "targets:",
        *[f"  [{'x' if t['met'] else ' '}] {t['name']:<58} {t['value']:9.3f}  (target <= {t['target']})" for t in r["targets"]],
    ]
    return "\n".join(lines)


def run(plan: Plan, model: str | None) -> dict[str, Any]:
    """Measure every figure; returns the results dict."""
    settings = Settings() if model is None else Settings().replace(model=model)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine_info(), "quick": plan is QUICK}
    pipeline = Pipeline(settings)
    label, paths = source_images()
    faces: list[FaceSource] = find_faces(paths, pipeline.detector, max(FACE_COUNTS))
    frames = {f"{n}_face{'s' if n > 1 else ''}": compose(faces[:n]) for n in FACE_COUNTS}
    jpegs = {name: encode_jpeg(frame) for name, frame in frames.items()}
    crops = [crop_face(f.image, f.box, settings.crop_margin) for f in faces]
    results["images"] = {
        "source": label,
        "frame_size": "640x480",
        "faces_detected": {name: len(pipeline.analyze(frame).faces) for name, frame in frames.items()},
    }
    results["detector"] = pipeline.detector.name
    results["threads"] = {
        "onnxruntime_intra_op": onnx_threads() if pipeline.classifier.runtime == "onnx" else None,
        "opencv": cv2.getNumThreads(),
    }
    detect_frames = {"640x480": frames["1_face"], "1280x720": compose(faces[:4], 1280, 720)}
    results["detection"] = {pipeline.detector.name: detection(pipeline.detector, detect_frames, plan.runs, plan.warmup)}
    if isinstance(pipeline.detector, YuNetDetector):
        results["detector_engine"] = pipeline.detector.engine
        opencv = YuNetDetector(pipeline.detector.model_path, pipeline.detector.settings, engine="opencv")
        results["detection"]["yunet_opencv_engine"] = detection(opencv, detect_frames, plan.runs, plan.warmup)
    results["classification"] = classification(pipeline.classifier, crops, plan)
    results["end_to_end"] = end_to_end(pipeline, jpegs, plan)
    results["in_memory"] = in_memory(pipeline, frames, plan)
    results["webcam"] = webcam(pipeline, jpegs, plan)
    results["memory"] = {"app": memory("app", plan), "baseline": memory("baseline", plan)}
    _versions_with_torch(results["machine"])
    results["threads"]["torch"] = results["machine"]["torch_threads"]
    results["baseline"] = baseline(jpegs, frames, plan)
    results["classification_by_input_size"] = classification_by_size(crops, plan)
    if "yuface" not in results["detection"]:
        # yuface ships its own OpenMP runtime: measured last, as its threads slowed torch's baseline up to 100x
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Image size", category=UserWarning)
            results["detection"]["yuface"] = detection(
                YufaceDetector(pipeline.detector.settings), detect_frames, plan.slow_runs, min(plan.warmup, 3)
            )
    results["ratios"] = ratios(results)
    results["targets"] = targets(results)
    results["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few runs of everything (smoke test, not figures)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT.relative_to(REPO_DIR)})")
    parser.add_argument("--model", help="model folder or Hub repo id (default: the configured model)")
    args = parser.parse_args(argv)
    results = run(QUICK if args.quick else FULL, args.model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    print(f"wrote {args.out} in {results['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
