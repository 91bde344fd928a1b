"""The app's "About the model" tab: the published test split measured once at start-up with the evaluate
metric, beside the model card's figures; without the dataset it says so and the app still starts."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from facemask.labels import LABELS
from tests.fakehub import HubHandle
from tests.fakehub.client import run_client
from tests.fakehub.fixtures import fake_hub  # noqa: F401  (pytest fixture)
from tests.test_hub import build_small_dataset, hub_cli, published, space_app, space_dir  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[1]
APP_DIR = REPO / "app"
MODEL_DIR = REPO / "models" / "facemask-mobilenetv2"
DATASET_REPO = "tester/about-crops"

sys.path.insert(0, str(APP_DIR))
import about  # noqa: E402

REPORT = """
import sys
sys.path[:0] = [{app!r}, {repo!r}]
import time
import about
from facemask import MaskClassifier

classifier = MaskClassifier.from_pretrained({model!r})
report = about.ModelReport({dataset!r}, classifier.predict_proba, classifier.folder)
begin = time.perf_counter()
report.start()
started_in = time.perf_counter() - begin
finished = report.wait(240)
emit({{"markdown": report.markdown(), "measured": report.measured, "error": report.error,
       "started_in": started_in, "finished": finished}})
"""


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("about_dataset") / "dataset"
    build_small_dataset(path)
    return path


@pytest.fixture(scope="module")
def published_dataset(fake_hub: HubHandle, dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    proc = hub_cli(fake_hub, tmp_path_factory.mktemp("hf_push"), "push-dataset", "--repo-id", DATASET_REPO,
                   "--dataset-dir", str(dataset_dir))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return DATASET_REPO


def report_of(hub: HubHandle, dataset: str | None, hf_home: Path, **env: str) -> dict:
    code = REPORT.format(app=str(APP_DIR), repo=str(REPO), model=str(MODEL_DIR), dataset=dataset)
    if env:
        code = "import os\nos.environ.update(" + json.dumps(env) + ")\n" + code
    return run_client(hub, code, hf_home, token=None, timeout=300)


def expected_metrics(dataset_dir: Path, sources: set[str]) -> dict:
    """The same measurement done here by hand on the local test split's rows from the published ``sources``
    (push-dataset leaves out sources that may not be redistributed), the committed model, the metric module."""
    import datasets
    import evaluate
    import numpy as np

    from facemask import MaskClassifier

    test = datasets.load_from_disk(str(dataset_dir))["test"]
    test = test.select([i for i, source in enumerate(test["source"]) if source in sources])
    classifier = MaskClassifier.from_pretrained(str(MODEL_DIR))
    probs = classifier.predict_proba([np.asarray(image.convert("RGB")) for image in test["image"]])
    metric = evaluate.load(str(REPO / "metrics" / "facemask_metrics"), keep_in_memory=True)
    return metric.compute(predictions=probs.argmax(axis=1).tolist(), references=list(test["label"]))


def test_tab_measures_the_published_test_split_with_the_metric_beside_the_card(
    fake_hub: HubHandle, published_dataset: str, dataset_dir: Path, tmp_path: Path
) -> None:
    result = report_of(fake_hub, published_dataset, tmp_path / "hf_home")
    published_sources = set(run_client(fake_hub, f"""
        import datasets
        emit(sorted(set(datasets.load_dataset("{DATASET_REPO}", split="test")["source"])))
    """, tmp_path / "hf_sources", token=None))  # fmt: skip

    assert result["finished"] and result["error"] is None
    assert result["measured"] == expected_metrics(dataset_dir, published_sources)
    text = result["markdown"]
    assert f"test split of `{DATASET_REPO}`** ({result['measured']['n']} face crops" in text
    assert "### Per class" in text and "### Confusion matrix" in text
    assert "model card" in text  # the committed folder has metrics.json: its figures stand beside
    for label in LABELS:
        scores = result["measured"]["per_class"][label]
        card = json.loads((MODEL_DIR / "metrics.json").read_text())["test"]["all"]["per_class"][label]
        assert f"{scores['precision']:.3f} | {card['precision']:.3f}" in text
    row = result["measured"]["confusion_matrix"][0]
    assert "| Mask | " + " | ".join(str(v) for v in row) + " |" in text
    served = [r.path for r in fake_hub.requests() if r.status == 200]
    assert any(p.startswith(f"/datasets/{DATASET_REPO}/resolve/") and "test" in p for p in served)


def test_tab_says_so_when_the_dataset_repo_does_not_exist_and_starts_at_once(fake_hub: HubHandle,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    result = report_of(fake_hub, "tester/no-such-dataset", tmp_path / "hf_home")

    assert result["measured"] is None and result["error"]
    assert result["started_in"] < 1.0  # the measurement runs in the background
    text = result["markdown"]
    assert "`tester/no-such-dataset` could not be loaded" in text and "The app works as usual" in text
    assert "### The model card's figures (test split)" in text  # the card's table is still shown


def test_tab_says_so_when_offline(fake_hub: HubHandle, published_dataset: str, tmp_path: Path) -> None:
    result = report_of(fake_hub, published_dataset, tmp_path / "hf_home", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")

    assert result["measured"] is None
    assert "could not be loaded" in result["markdown"]


def test_tab_without_a_configured_dataset_explains_and_shows_the_card(tmp_path: Path) -> None:
    report = about.ModelReport(None, lambda crops: None, MODEL_DIR).start()

    assert report.wait(1) and report.measured is None
    assert "No dataset repo is configured" in report.markdown()
    assert "### The model card's figures" in report.markdown()


def test_tab_while_measuring_says_it_is_measuring(tmp_path: Path) -> None:
    report = about.ModelReport("someone/crops", lambda crops: None, tmp_path)  # not started: still to measure

    text = report.markdown()
    assert "Measuring the model on the test split of `someone/crops`" in text
    assert "model card" not in text  # no metrics.json in this folder


def test_dataset_repo_comes_from_the_environment_else_the_space_card(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("---\nsdk: gradio\ndatasets:\n  - owner/crops\n---\n# Space\n")

    assert about.dataset_source({"FACEMASK_DATASET": "me/other"}, readme) == "me/other"
    assert about.dataset_source({}, readme) == "owner/crops"
    assert about.dataset_source({}, tmp_path / "missing.md") is None


def test_report_is_measured_once_per_model_and_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(about, "measure", lambda repo, classify, folder: calls.append(repo) or {"n": 0})
    monkeypatch.setattr(about, "_REPORTS", {})

    class FakePipeline:
        class classifier:
            folder = MODEL_DIR

        @staticmethod
        def classify_crops(crops):
            return None

    first = about.report_for(FakePipeline(), "owner/crops")
    second = about.report_for(FakePipeline(), "owner/crops")

    assert first is second and first.wait(10)
    assert calls == ["owner/crops"]


def test_space_bundle_carries_the_tab_and_the_metric_module(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("facemask_app_bundle_test", APP_DIR / "bundle.py")
    bundle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bundle)
    dest = bundle.build_space(tmp_path / "space", model_repo="o/model", dataset_repo="o/crops")

    assert (dest / "about.py").is_file()
    assert (dest / "metrics" / "facemask_metrics" / "facemask_metrics.py").is_file()
    assert about.metric_dir(dest) == dest / "metrics" / "facemask_metrics"
    requirements = (dest / "requirements.txt").read_text()
    assert "datasets" in requirements and "evaluate" in requirements
    assert about.dataset_source({}, dest / "README.md") == "o/crops"


def test_the_space_pulls_the_dataset_and_measures_its_test_split_at_start_up(fake_hub: HubHandle, space_app) -> None:
    """The Space as ``python -m hub all`` publishes it: its card's ``datasets:`` entry is what the tab measures."""
    expected = "about: test split of tester/face-mask-crops measured"
    deadline = time.monotonic() + 240
    while expected not in space_app.log() and time.monotonic() < deadline:
        time.sleep(1)

    assert expected in space_app.log(), space_app.log()[-3000:]
    served = [r.path for r in fake_hub.requests() if r.status == 200]
    assert any(p.startswith("/datasets/tester/face-mask-crops/resolve/") and p.endswith(".parquet") for p in served)
