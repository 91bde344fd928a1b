"""The "Video" tab: upload a short clip, get it back anonymised and annotated, with mask counts over time.

The clip goes through :func:`facemask.video.anonymize_video` (the same core as ``python -m facemask
video``: detector, classifier, tracker, blur), within the limits of ``Settings.video_max_*`` stated
in the tab. The output is written straight into Gradio's cache, so the app's cache clean-up deletes
it with the other results. The ``/video`` API returns the processed MP4 and the results (the CLI's
summary plus per-frame counts); bad files come back as a clear error.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any, Callable

import gradio as gr
import pandas as pd

from facemask import Pipeline
from facemask.labels import COLORS, DISPLAY_NAMES, LABELS
from facemask.video import FrameRecord, VideoError, anonymize_video, check_limits, probe

log = logging.getLogger("facemask.app")

COLOR_MAP = {DISPLAY_NAMES[label]: "#{:02x}{:02x}{:02x}".format(*COLORS[label]) for label in LABELS}
"""The plot's line colours: the same colour-blind-safe palette as the boxes."""
PROGRESS_EVERY = 5
"""Frames between two progress-bar updates."""
TIMELINE_POINTS = 600
"""At most this many time points in the results and the plot (longer clips are sampled evenly)."""


def limits_text(pipeline: Pipeline) -> str:
    """The tab's help line, limits first."""
    s = pipeline.settings
    megapixels = s.video_max_pixels / 1e6
    return (
        f"**Limits: up to {s.video_max_seconds:g} s, {s.video_max_bytes // 2**20} MB, frames up to "
        f"{megapixels:.1f} megapixels (1920×1080).** Upload a clip (MP4, MOV, WEBM, MKV, AVI, ...): every face is "
        "tracked across frames and stays pixelated even in frames where the detector misses it. You get the video "
        "back as H.264 MP4 with the same size, frame rate, length, rotation and sound, and the number of faces "
        "with and without a mask over time. Every frame is analysed, so it takes a while on a free CPU: the bar shows "
        "how far it is."
    )


def video_source(payload: Any) -> str | None:
    """The uploaded file's path in Gradio's cache (``None`` when nothing was uploaded)."""
    if payload is None:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("video"), dict):
        payload = payload["video"]
    if isinstance(payload, dict) and payload.get("path"):
        return str(payload["path"])
    if isinstance(payload, str) and payload:
        return payload
    raise gr.Error("Expected a video file.", title="Not a video", print_exception=False)


def timeline(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-frame face counts per label, sampled down to :data:`TIMELINE_POINTS` points."""
    step = max(1, -(-len(records) // TIMELINE_POINTS))
    return records[::step]


def plot_frame(results: dict[str, Any] | None) -> pd.DataFrame:
    """The ``gr.LinePlot`` data: one row per time point and label (long format)."""
    rows = [
        {"time (s)": point["time"], "faces": point[label], "label": DISPLAY_NAMES[label]}
        for point in (results or {}).get("timeline", [])
        for label in LABELS
    ]
    return pd.DataFrame(rows, columns=["time (s)", "faces", "label"])


def summary_markdown(results: dict[str, Any] | None) -> str:
    """One line: distinct faces per label, then the clip's figures."""
    if not results:
        return ""
    faces = results["faces"]
    total = sum(faces.values())
    if total == 0:
        who = "No face found"
    else:
        parts = [f"{n} {DISPLAY_NAMES[label].lower()}" for label, n in faces.items() if n]
        who = f"{total} distinct face{'s' if total != 1 else ''}: " + ", ".join(parts)
    return (f"**{who}.** {results['frames']} frames, {results['width']}×{results['height']}, "
            f"{results['fps']:g} fps, {results['duration']:.1f} s.")


class VideoHandlers:
    """The tab's event functions around the app's one loaded :class:`Pipeline`."""

    def __init__(self, pipeline: Pipeline, check_options: Callable[[Any, Any, Any], tuple[float, bool, str]],
                 cache_dir: str | Path) -> None:
        self.pipeline = pipeline
        self.options = check_options  # the app's check of (threshold, blur, blur mode), shared with the photo tab
        self.cache_dir = Path(cache_dir)

    def process(
        self, video: Any, threshold: Any, blur: Any, blur_mode: Any, progress: gr.Progress = gr.Progress(),
    ) -> tuple[str | None, dict[str, Any] | None]:
        """The ``/video`` endpoint: the anonymised, annotated MP4 and the results."""
        source = video_source(video)
        if source is None:
            return None, None
        value, blur_on, mode = self.options(threshold, blur, blur_mode)
        try:
            info = probe(source)
            check_limits(info, self.pipeline.settings)
        except VideoError as exc:
            raise gr.Error(f"Cannot use this file: {exc}.", title="Not a usable video", print_exception=False) from None
        # inside Gradio's cache: served as it is and deleted by the app's cache clean-up like every result
        out = self.cache_dir / "facemask-video" / uuid.uuid4().hex / "anonymised.mp4"
        counts: list[dict[str, Any]] = []

        def record(frame: FrameRecord) -> None:
            point = {"time": frame.time, **{label: 0 for label in LABELS}}
            for face in frame.faces:
                point[face["label"]] += 1
            counts.append(point)

        def report(done: int, total: int) -> None:
            if done % PROGRESS_EVERY == 0 or done == total:
                progress((done, total), desc="Anonymising frames", unit="frames")

        progress((0, info.frames), desc="Anonymising frames", unit="frames")
        try:
            summary = anonymize_video(self.pipeline, source, out, threshold=value, blur=blur_on, blur_mode=mode,  # type: ignore[arg-type]
                                      on_frame=record, progress=report)
        except VideoError as exc:
            raise gr.Error(f"Cannot use this file: {exc}.", title="Not a usable video", print_exception=False) from None
        except Exception as exc:  # one odd video must not take the server down; log the kind only
            log.error("video failed (%s)", type(exc).__name__)
            raise gr.Error("This video could not be processed. Please try another one.", print_exception=False) from None
        results = {**summary.to_dict(), "timeline": timeline(counts)}
        del results["path"], results["out"]  # server paths mean nothing to the visitor
        return str(out), results

    @staticmethod
    def show(results: dict[str, Any] | None) -> tuple[str, pd.DataFrame]:
        """Summary line and plot for a ``/video`` result."""
        return summary_markdown(results), plot_frame(results)


def add_tab(pipeline: Pipeline, options: list[Any], check_options: Callable[[Any, Any, Any], tuple[float, bool, str]]) -> None:
    """The Video tab and its events (call inside the app's ``gr.Tabs``; ``options``: threshold, blur, blur mode)."""
    with gr.Tab("Video", id="video"):
        gr.Markdown(limits_text(pipeline), elem_id="video-help")
        with gr.Row(equal_height=True):
            upload = gr.Video(sources=["upload"], label="Clip", elem_id="video-input", height=360, scale=2)
            output = gr.Video(label="Anonymised", format="mp4", interactive=False, autoplay=True,
                              elem_id="video-output", height=360, scale=3)
        summary = gr.Markdown(elem_id="video-summary")
        plot = gr.LinePlot(x="time (s)", y="faces", color="label", label="Faces per frame", x_title="time (s)",
                           y_title="faces", elem_id="video-plot", height=260, color_map=COLOR_MAP)
        with gr.Accordion("Results as JSON (what the /video API returns)", open=False):
            results = gr.JSON(label="Video results", elem_id="video-json")
    handlers = VideoHandlers(pipeline, check_options, output.GRADIO_CACHE)
    upload.upload(
        handlers.process, inputs=[upload, *options], outputs=[output, results], api_name="video",
        preprocess=False, concurrency_id="video", concurrency_limit=1,
        api_description="Anonymise and annotate a short video; returns the MP4 and the per-face-track summary.",
    ).success(handlers.show, inputs=[results], outputs=[summary, plot], api_visibility="private")
