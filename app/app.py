"""The facemask Gradio app: photo upload and live webcam, per-face results, privacy blur on by default.

Run from the repository: ``python app/app.py`` (honours ``GRADIO_SERVER_NAME`` and
``GRADIO_SERVER_PORT``). The model comes from ``FACEMASK_MODEL`` (a Hub repo id or a local folder),
else the bundled ``models/facemask-mobilenetv2``, else (in a Space without a bundled model) the first
``models:`` entry of the Space's README. It is loaded once, at start.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping

HERE = Path(__file__).resolve().parent


def _add_import_paths() -> None:
    """Make the app's modules and the ``facemask`` core importable (beside this file in a Space, one level up here)."""
    for root in (HERE, HERE.parent):
        if (root / "facemask" / "__init__.py").is_file():
            sys.path[:0] = [p for p in (str(HERE), str(root)) if p not in sys.path]
            return
    raise SystemExit("cannot find the facemask package beside app.py or one folder up")


_add_import_paths()

import gradio as gr  # noqa: E402

from facemask import Pipeline, Settings  # noqa: E402
from facemask.config import BUNDLED_MODEL_DIR  # noqa: E402
from about import add_tab, dataset_source, report_for  # noqa: E402
from handlers import BLUR_MODES, TABLE_HEADERS, Handlers  # noqa: E402
from video_tab import add_tab as add_video_tab  # noqa: E402

log = logging.getLogger("facemask.app")

EXAMPLES_DIR = HERE / "examples"
SPACE_README = HERE / "README.md"
STREAM_TIME_LIMIT_S = 60
"""Seconds one visitor may stream before the webcam stops, so several visitors can share one Space."""
CONCURRENCY = 2
"""Requests processed at once (one per CPU core of a free Space); the rest wait in the queue."""
STREAM_VISITORS = 8
"""Webcam streams served at once (each holds a queue worker while it lasts; their frames take turns on
``CONCURRENCY`` cores, see ``Handlers``); further visitors wait in the queue."""
QUEUE_SIZE = 128
CACHE_CLEANUP = (120, 300)
"""Every 2 minutes, delete uploads and results older than 5 minutes from Gradio's cache."""

INTRO = """# 😷 Face-mask detector
Finds every face, tells whether a mask is worn (**Mask**, **No mask**, **Mask worn incorrectly**) and
pixelates eyes and forehead so that nobody is recognisable. Uploads and results are deleted from the server
within minutes; nothing is logged.
"""
LIVE_HELP = (
    "Click the camera, allow access, then press **Record** to stream up to fifteen frames a second "
    f"(up to {STREAM_TIME_LIMIT_S} s). On a slow connection use the Photo tab's webcam button to send single snapshots."
)
CSS = """
#summary p { font-size: 1.15rem; margin: 0.25rem 0; }
"""


def model_source(env: Mapping[str, str], bundled: Path, space_readme: Path) -> str:
    """The model to load: ``FACEMASK_MODEL``, else the bundled folder, else the Space README's first ``models:`` entry."""
    configured = env.get("FACEMASK_MODEL", "").strip()
    if configured:
        return configured
    if not bundled.is_dir() and space_readme.is_file():
        from huggingface_hub import SpaceCard

        models = SpaceCard.load(space_readme).data.get("models") or []
        if models:
            return str(models[0])
    return str(bundled)


def examples() -> list[list[str]]:
    """The bundled example photos, one per row."""
    return [[str(path)] for path in sorted(EXAMPLES_DIR.glob("*.jpg"))]


def build_app(pipeline: Pipeline) -> gr.Blocks:
    """The app's layout and events around one loaded pipeline."""
    handlers = Handlers(pipeline, frame_slots=CONCURRENCY)
    settings = pipeline.settings
    with gr.Blocks(title="Face-mask detector", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            threshold = gr.Slider(
                minimum=settings.blur_threshold, maximum=0.95, step=0.05, value=settings.detection_threshold,
                label="Detection threshold", info="Higher: fewer, surer faces. With the blur on, faces scoring "
                f"over {settings.blur_threshold:.2f} are blurred even when not listed.", elem_id="threshold",
            )
            blur = gr.Checkbox(value=settings.blur, label="Privacy blur", info="Pixelate faces before showing them.", elem_id="blur")
            blur_mode = gr.Radio(BLUR_MODES, value=settings.blur_mode, label="Blur area", elem_id="blur-mode")
        with gr.Tabs():
            with gr.Tab("Photo", id="photo"):
                with gr.Row(equal_height=True):
                    photo = gr.Image(
                        sources=["upload", "webcam", "clipboard"], type="filepath", label="Photo",
                        elem_id="photo-input", height=480, scale=2,
                    )
                    annotated = gr.Image(type="numpy", format="png", label="Result", interactive=False,
                                         elem_id="photo-output", height=480, scale=3)
                gr.Examples(examples(), inputs=[photo], label="Examples")
            with gr.Tab("Live webcam", id="live"):
                gr.Markdown(LIVE_HELP)
                with gr.Row(equal_height=True):
                    webcam = gr.Image(sources=["webcam"], streaming=True, label="Webcam", elem_id="webcam-input",
                                      webcam_options=gr.WebcamOptions(mirror=True), height=480, scale=2)
                    live = gr.Image(type="numpy", format="jpeg", label="Live result", interactive=False,
                                    elem_id="webcam-output", height=480, scale=3)
            add_video_tab(pipeline, [threshold, blur, blur_mode], handlers.check_options)
            add_tab(report_for(pipeline, dataset_source(os.environ, SPACE_README)))
        summary = gr.Markdown(label="Summary", elem_id="summary")
        with gr.Row():
            chart = gr.Label(label="Confidence", num_top_classes=3, elem_id="confidence", scale=1)
            table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, label="Faces (click a row for its chart)",
                                 elem_id="faces-table", scale=2)
        with gr.Accordion("Results as JSON (what the /detect API returns)", open=False):
            results = gr.JSON(label="Results", elem_id="results-json")

        options = [threshold, blur, blur_mode]
        gr.on(
            [photo.change, threshold.release, blur.change, blur_mode.change],
            handlers.detect, inputs=[photo, *options], outputs=[annotated, results],
            api_name="detect", preprocess=False, concurrency_id="pipeline",
            api_description="Find every face; returns the annotated, privacy-blurred image and the per-face results.",
        ).success(handlers.show, inputs=[results], outputs=[summary, chart, table], api_visibility="private")
        table.select(handlers.select, inputs=[results], outputs=[chart], api_visibility="private")
        tracker = gr.State(None)  # this visitor's FaceTracker: blur carried over frames the detector misses
        webcam.stream(
            handlers.detect_frame, inputs=[webcam, *options, tracker],
            outputs=[live, results, summary, chart, table, tracker],
            api_name="detect_frame", api_visibility="undocumented", preprocess=False, concurrency_id="webcam",
            concurrency_limit=STREAM_VISITORS,
            stream_every=settings.webcam_interval_s, time_limit=STREAM_TIME_LIMIT_S, show_progress="hidden",
        )
    return demo


def delete_cache_on_exit(demo: gr.Blocks) -> None:
    """Delete this app's uploads and results from Gradio's cache when the server stops.

    ``delete_cache`` only ages files out while the server runs; a stop (Ctrl+C, or the SIGTERM of
    ``docker stop`` / a Space restart, turned here into a normal exit) would leave the last minutes'
    uploads on disk.
    """
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    atexit.register(delete_cache_files, demo, None)


def delete_cache_files(blocks: gr.Blocks, age: float | None) -> None:
    """Delete the files this app put in Gradio's cache that are older than ``age`` seconds (all when ``None``).

    Replaces Gradio 6.31's ``delete_files_created_by_app``, which iterates over the live sets of cached
    files in a worker thread: a request adding a file meanwhile raises "Set changed size during
    iteration", which ends Gradio's clean-up loop for good, so uploads stayed on disk until the server
    stopped (seen in tests/test_no_leaks.py under load). Here each set is copied first (atomic under the
    GIL), every file is handled on its own, and nothing escapes, so the schedule keeps running.
    """
    keep: set[str] = set()
    for component in list(blocks.blocks.values()):
        keep.update(getattr(component, "keep_in_cache", ()))
    now = time.time()
    for files in list(blocks.temp_file_sets):
        for name in files.copy():
            if name in keep:
                continue
            try:
                if age is None or now - Path(name).lstat().st_ctime > age:
                    os.remove(name)
                    files.discard(name)
            except FileNotFoundError:
                files.discard(name)
            except Exception as exc:  # noqa: BLE001 - one odd file must not stop the clean-up of the rest
                log.warning("cache clean-up skipped a file (%s)", type(exc).__name__)


def clean_cache_safely() -> None:
    """Make Gradio's ``delete_cache`` schedule and the clean-up at exit use :func:`delete_cache_files`."""
    from gradio import route_utils

    route_utils.delete_files_created_by_app = delete_cache_files


def write_result_images_atomically() -> None:
    """Make Gradio write each result image under a temporary name and rename it into place.

    Gradio 6.31 stores a result image at a path named after its content and rewrites that file in
    place every time. When two requests give the same result at once (the same photo or example
    from two visitors), one visitor can download the file while the other request is rewriting it,
    and gets an empty or cut-off image (seen in ``benchmarks/load_test.py``). A rename is atomic.
    """
    from gradio import processing_utils

    def save_pil_to_cache(img: object, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = processing_utils.encode_pil_to_bytes(img, format)
        folder = Path(cache_dir) / processing_utils.hash_bytes(data)
        folder.mkdir(exist_ok=True, parents=True)
        target = (folder / f"{name}.{format}").resolve()
        handle, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(staging, target)
        return str(target)

    processing_utils.save_pil_to_cache = save_pil_to_cache


def main() -> None:
    """Load the model once and serve the app."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    pipeline = Pipeline(Settings().replace(model=model_source(os.environ, BUNDLED_MODEL_DIR, SPACE_README)))
    log.info("model %s (%s runtime), detector %s", pipeline.classifier.source, pipeline.classifier.runtime,
             pipeline.detector.name)
    demo = build_app(pipeline)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    clean_cache_safely()
    delete_cache_on_exit(demo)
    write_result_images_atomically()
    demo.launch(
        ssr_mode=False,
        run_history=False,
        footer_links=["api", "gradio", "settings"],
        max_file_size=pipeline.settings.max_file_bytes,
        theme=gr.themes.Soft(primary_hue="blue"),
        css=CSS,
    )


if __name__ == "__main__":
    main()
