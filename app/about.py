"""The "About the model" tab: the model card's figures beside the same metrics measured by this app.

At start-up a background thread downloads the published dataset's test split
(``datasets.load_dataset(<dataset repo>, split="test")``), classifies every crop with the app's own
model and scores it with the ``evaluate`` module ``metrics/facemask_metrics`` (the one the training code
uses), once; the tab then shows both sets of figures, so a visitor can see that the card's numbers are
real. The dataset repo is ``FACEMASK_DATASET``, else the first ``datasets:`` entry of the Space's README.
Without the dataset (offline, or no such repo) the tab says so and the rest of the app works as usual.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from facemask.labels import LABELS

log = logging.getLogger("facemask.app")

HERE = Path(__file__).resolve().parent
METRIC_NAME = "facemask_metrics"
BATCH = 64
"""Crops classified per batch: the app's requests can take the classifier between two batches."""
DISPLAY = {"with_mask": "Mask", "without_mask": "No mask", "incorrect_mask": "Mask worn incorrectly"}

Classify = Callable[[list[np.ndarray]], np.ndarray]


def metric_dir(app_dir: Path = HERE) -> Path:
    """The metric module: ``metrics/`` beside ``app.py`` in a Space, one folder up in the repository."""
    for root in (app_dir, app_dir.parent):
        folder = root / "metrics" / METRIC_NAME
        if (folder / f"{METRIC_NAME}.py").is_file():
            return folder
    raise FileNotFoundError(f"cannot find metrics/{METRIC_NAME} beside {app_dir} or one folder up")


def dataset_source(env: Mapping[str, str], space_readme: Path) -> str | None:
    """The dataset repo to measure on: ``FACEMASK_DATASET``, else the Space README's first ``datasets:`` entry."""
    configured = env.get("FACEMASK_DATASET", "").strip()
    if configured:
        return configured
    if space_readme.is_file():
        from huggingface_hub import SpaceCard

        datasets = SpaceCard.load(space_readme).data.get("datasets") or []
        if datasets:
            return str(datasets[0])
    return None


def card_metrics(model_folder: Path) -> dict[str, Any] | None:
    """The model card's test-split figures (``metrics.json`` → ``test.all``), if the model folder has them."""
    path = model_folder / "metrics.json"
    try:
        block = json.loads(path.read_text())["test"]["all"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return block if {"per_class", "confusion_matrix", "macro_f1", "accuracy"} <= set(block) else None


def measure(dataset_repo: str, classify: Classify, metric_folder: Path) -> dict[str, Any]:
    """Classify the test split of ``dataset_repo`` and score it with the evaluate module."""
    import datasets
    import evaluate

    test = datasets.load_dataset(dataset_repo, split="test")
    label = test.features.get("label")
    if not isinstance(label, datasets.ClassLabel) or tuple(label.names) != LABELS:
        raise ValueError(f"{dataset_repo}: the label column must be ClassLabel(names={list(LABELS)})")
    references: list[int] = []
    predictions: list[int] = []
    for start in range(0, len(test), BATCH):
        rows = test[start : start + BATCH]
        crops = [np.asarray(image.convert("RGB")) for image in rows["image"]]
        predictions += [int(i) for i in np.asarray(classify(crops)).argmax(axis=1)]
        references += [int(i) for i in rows["label"]]
    metric = evaluate.load(str(metric_folder), keep_in_memory=True)
    return metric.compute(predictions=predictions, references=references)


@dataclass
class ModelReport:
    """The measurement on the published test split: run once in the background, then cached."""

    dataset_repo: str | None
    classify: Classify
    model_folder: Path
    metric_folder: Path = field(default_factory=metric_dir)
    measured: dict[str, Any] | None = None
    error: str | None = None
    seconds: float | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> "ModelReport":
        """Start the measurement in a daemon thread (once; later calls do nothing)."""
        with self._lock:
            if self._thread is None and self.dataset_repo:
                self._thread = threading.Thread(target=self.run, name="facemask-about", daemon=True)
                self._thread.start()
        return self

    def run(self) -> None:
        """Measure now, in this thread; any failure becomes the tab's message."""
        begin = time.perf_counter()
        try:
            self.measured = measure(str(self.dataset_repo), self.classify, self.metric_folder)
            log.info("about: test split of %s measured (%d crops)", self.dataset_repo, self.measured["n"])
        except Exception as exc:  # offline, no such repo, a changed schema: the tab says so, the app runs on
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log.info("about: the test split of %s is unavailable (%s)", self.dataset_repo, type(exc).__name__)
        self.seconds = time.perf_counter() - begin

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background measurement; True once it has finished (or was never started)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def markdown(self) -> str:
        """The tab's text: status, then the measured figures beside the model card's."""
        card = card_metrics(self.model_folder)
        parts = ["## About the model"]
        if not self.dataset_repo:
            parts.append("No dataset repo is configured (`FACEMASK_DATASET` or the Space card's `datasets:`), "
                         "so the model was not measured here.")  # fmt: skip
        elif self.measured is not None:
            m = self.measured
            parts.append(
                f"Measured by this app at start-up on the **test split of `{self.dataset_repo}`** ({m['n']} face crops, "
                f"{self.seconds or 0:.0f} s), with the model it runs and the `evaluate` metric "
                f"`{METRIC_NAME}`" + (", beside the model card's figures (`metrics.json`)." if card else ".")
            )
            if card and card.get("n") not in (None, m["n"]):
                parts.append(f"The published split holds {m['n']} crops, the card's test split {card['n']}: crops from "
                             "sources that may not be redistributed (or a newer build of the data) make the difference.")  # fmt: skip
            parts.append(headline_table(m, card))
            parts.append("### Per class\n\n" + per_class_table(m, card))
            parts.append("### Confusion matrix (measured here; rows: true class, columns: predicted)\n\n"
                         + confusion_table(m["confusion_matrix"]))  # fmt: skip
            if card:
                parts.append("### Confusion matrix in the model card\n\n" + confusion_table(card["confusion_matrix"]))
        elif self.error is not None:
            parts.append(f"The test split of `{self.dataset_repo}` could not be loaded, so the model was not "
                         f"measured here ({self.error}). The app works as usual; the model card's figures follow.")  # fmt: skip
        else:
            parts.append(f"Measuring the model on the test split of `{self.dataset_repo}`… (started with the app; "
                         "reload this tab in a minute).")  # fmt: skip
        if card and self.measured is None:
            parts.append("### The model card's figures (test split)\n\n" + headline_table(None, card))
            parts.append(per_class_table(None, card))
            parts.append(confusion_table(card["confusion_matrix"]))
        return "\n\n".join(parts)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _pair(measured: Mapping[str, Any] | None, card: Mapping[str, Any] | None) -> list[str]:
    return (["measured here"] if measured is not None else []) + (["model card"] if card is not None else [])


def headline_table(measured: Mapping[str, Any] | None, card: Mapping[str, Any] | None) -> str:
    """Accuracy, macro-F1 and the unsafe error, a column for each source given."""
    sources = [s for s in (measured, card) if s is not None]
    keys = (("accuracy", "accuracy"), ("macro-F1", "macro_f1"), ("unsafe error (no mask called mask)", "unsafe_error"))
    lines = ["| | " + " | ".join(_pair(measured, card)) + " |", "| --- |" + " --- |" * len(sources)]
    for title, key in keys:
        values = [s.get(key, s.get("unsafe_error_rate")) if key == "unsafe_error" else s.get(key) for s in sources]
        lines.append(f"| {title} | " + " | ".join(_fmt(v) for v in values) + " |")
    lines.append("| face crops | " + " | ".join(str(s.get("n", "–")) for s in sources) + " |")
    return "\n".join(lines)


def per_class_table(measured: Mapping[str, Any] | None, card: Mapping[str, Any] | None) -> str:
    """Precision, recall, F1 and support per class; measured and card side by side."""
    sources = [s for s in (measured, card) if s is not None]
    names = _pair(measured, card)
    header = ["class"] + [f"{col} ({name})" if len(sources) > 1 else col for col in ("precision", "recall", "F1")
                          for name in names] + ["support" + (f" ({' / '.join(names)})" if len(sources) > 1 else "")]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for label in LABELS:
        row = [f"{DISPLAY[label]} (`{label}`)"]
        for key in ("precision", "recall", "f1"):
            row += [_fmt(s["per_class"][label][key]) for s in sources]
        row.append(" / ".join(str(s["per_class"][label]["support"]) for s in sources))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def confusion_table(matrix: Sequence[Sequence[int]]) -> str:
    """The confusion matrix as a Markdown table (rows: true class, columns: predicted)."""
    lines = ["| true \\ predicted | " + " | ".join(DISPLAY[l] for l in LABELS) + " |", "|" + " --- |" * (len(LABELS) + 1)]
    for label, row in zip(LABELS, matrix):
        lines.append(f"| {DISPLAY[label]} | " + " | ".join(str(int(v)) for v in row) + " |")
    return "\n".join(lines)


_REPORTS: dict[tuple[str | None, str], ModelReport] = {}
_REPORTS_LOCK = threading.Lock()


def report_for(pipeline: Any, dataset_repo: str | None) -> ModelReport:
    """The one report of this model and dataset in the process, its measurement started."""
    key = (dataset_repo, str(pipeline.classifier.folder))
    with _REPORTS_LOCK:
        if key not in _REPORTS:
            _REPORTS[key] = ModelReport(dataset_repo, pipeline.classify_crops, Path(pipeline.classifier.folder))
        report = _REPORTS[key]
    return report.start()


def add_tab(report: ModelReport) -> None:
    """The "About the model" tab (inside a ``gr.Tabs``): the report, refreshed on each page load and on demand."""
    import gradio as gr

    with gr.Tab("About the model", id="about"):
        text = gr.Markdown(report.markdown, elem_id="about-model")
        refresh = gr.Button("Refresh", size="sm", elem_id="about-refresh")
        refresh.click(report.markdown, outputs=[text], api_visibility="private")
