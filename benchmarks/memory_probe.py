"""Peak resident memory of an app-like process; run in a fresh subprocess by the benchmark.

``python -m benchmarks.memory_probe app`` loads what the Gradio app loads (``app/app.py``'s
``build_app`` around a :class:`facemask.Pipeline` when the app exists, else gradio plus the pipeline)
and serves frames through the app's webcam handler; ``baseline`` loads the naive PyTorch baseline
instead. Prints one JSON object: peak RSS in MiB and whether torch got imported.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import resource
import sys
from pathlib import Path
from typing import Any

from facemask.config import REPO_DIR

FRAME = REPO_DIR / "tests" / "data" / "group.jpg"


def peak_rss_mib() -> float:
    """This process's peak resident set size.

    Linux's ``VmHWM`` first: ``getrusage``'s ``ru_maxrss`` survives ``exec``, so in a child it can
    report the parent's size at fork time (a benchmark parent that has loaded torch, say).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def run_app(frames: int) -> str:
    """Load the app (or gradio + pipeline) and process ``frames`` webcam frames; returns what ran."""
    import gradio  # noqa: F401  (the app process always has it)

    from facemask import Pipeline, Settings

    try:
        app_module: Any = importlib.import_module("app.app")
        handlers_module: Any = importlib.import_module("handlers")
    except ImportError:
        pipeline = Pipeline(Settings())
        for _ in range(frames):
            image = pipeline.load(FRAME)
            pipeline.render(image, pipeline.analyze(image))
        return "gradio imported + facemask.Pipeline (app/app.py not importable)"
    pipeline = Pipeline(Settings())  # the configured model, as the app loads it in the repository
    app_module.build_app(pipeline)
    handlers = handlers_module.Handlers(pipeline)
    payload = {"url": "data:image/jpeg;base64," + base64.b64encode(FRAME.read_bytes()).decode("ascii")}
    for _ in range(frames):
        handlers.detect_frame(payload, 0.6, True, "eyes")
    return f"app.app.build_app + Handlers.detect_frame ({pipeline.classifier.runtime} runtime)"


def run_baseline(frames: int) -> str:
    """Load the naive baseline and classify ``frames`` whole frames."""
    from benchmarks.baseline import NaiveClassifier
    from facemask import Settings, load_image

    classifier = NaiveClassifier()
    image = load_image(FRAME, Settings())
    for _ in range(frames):
        classifier([image])
    return "naive eager PyTorch MobileNetV2 at 224 px"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=("app", "baseline"))
    parser.add_argument("--frames", type=int, default=20)
    args = parser.parse_args()
    ran = run_app(args.frames) if args.what == "app" else run_baseline(args.frames)
    print(json.dumps({"peak_rss_mib": round(peak_rss_mib(), 1), "torch_imported": "torch" in sys.modules, "ran": ran}))


if __name__ == "__main__":
    main()
