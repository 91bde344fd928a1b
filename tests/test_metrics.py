"""The ``evaluate`` metric module ``metrics/facemask_metrics``: loaded offline, equal to scikit-learn, used by training."""

from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from facemask.labels import LABELS

REPO = Path(__file__).resolve().parents[1]
METRIC_DIR = REPO / "metrics" / "facemask_metrics"
SCRIPT = METRIC_DIR / "facemask_metrics.py"


@pytest.fixture(scope="module")
def metric():
    """The module as a user loads it: ``evaluate.load("metrics/facemask_metrics")`` from the repository root."""
    import evaluate

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return evaluate.load("metrics/facemask_metrics", keep_in_memory=True)
    finally:
        os.chdir(cwd)


def sklearn_reference(true: np.ndarray, pred: np.ndarray, k: int = 3) -> dict:
    idx = list(range(k))
    precision, recall, f1, support = precision_recall_fscore_support(true, pred, labels=idx, zero_division=0)
    present = sorted(set(true.tolist()))
    return {
        "accuracy": accuracy_score(true, pred),
        "macro_f1": f1_score(true, pred, labels=present, average="macro", zero_division=0),
        "precision": precision, "recall": recall, "f1": f1, "support": support,
        "confusion_matrix": confusion_matrix(true, pred, labels=idx).tolist(),
    }  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_metrics_equal_scikit_learn_on_random_labels(metric, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    true = rng.choice(3, size=n, p=rng.dirichlet([1, 1, 1]))
    pred = np.where(rng.random(n) < rng.random(), true, rng.integers(0, 3, n))
    if seed == 0:  # one class never predicted and never true: zero-division cases
        true, pred = np.where(true == 2, 0, true), np.where(pred == 2, 1, pred)

    got = metric.compute(predictions=pred.tolist(), references=true.tolist())
    ref = sklearn_reference(true, pred)

    assert got["n"] == n
    assert got["accuracy"] == pytest.approx(ref["accuracy"], abs=1e-12)
    assert got["macro_f1"] == pytest.approx(ref["macro_f1"], abs=1e-12)
    assert got["confusion_matrix"] == ref["confusion_matrix"]
    for i, name in enumerate(LABELS):
        scores = got["per_class"][name]
        assert scores["precision"] == pytest.approx(ref["precision"][i], abs=1e-12)
        assert scores["recall"] == pytest.approx(ref["recall"][i], abs=1e-12)
        assert scores["f1"] == pytest.approx(ref["f1"][i], abs=1e-12)
        assert scores["support"] == ref["support"][i]
    bare = true == LABELS.index("without_mask")
    expected_unsafe = np.sum(bare & (pred == LABELS.index("with_mask")))
    assert got["unsafe_errors"] == expected_unsafe
    assert got["unsafe_error"] == pytest.approx(expected_unsafe / bare.sum() if bare.any() else 0.0)


def test_unsafe_error_counts_only_bare_faces_called_masked(metric) -> None:
    # without_mask -> with_mask is unsafe; without_mask -> incorrect_mask and incorrect_mask -> with_mask are not
    got = metric.compute(predictions=[0, 2, 1, 1, 0, 0], references=[1, 1, 1, 1, 2, 0])

    assert (got["unsafe_errors"], got["unsafe_error"]) == (1, 0.25)
    assert got["confusion_matrix"] == [[1, 0, 0], [1, 2, 1], [1, 0, 0]]


def test_other_label_names_score_that_label_set(metric) -> None:
    got = metric.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0], label_names=["with_mask", "not_with_mask"])

    assert set(got["per_class"]) == {"with_mask", "not_with_mask"}
    assert got["confusion_matrix"] == [[2, 1], [0, 1]]
    assert got["unsafe_error"] == 0.0 and got["unsafe_errors"] == 0


def test_empty_input_gives_zeros_not_an_error(metric) -> None:
    got = metric.compute(predictions=[], references=[])

    assert (got["n"], got["accuracy"], got["macro_f1"], got["unsafe_error"]) == (0, 0.0, 0.0, 0.0)
    assert got["confusion_matrix"] == [[0] * 3] * 3


@pytest.mark.parametrize(("predictions", "references", "needle"), [
    ([0, 3], [0, 1], "predictions must be label indices from 0 to 2"),
    ([0, 1], [-1, 1], "references must be label indices from 0 to 2"),
])  # fmt: skip
def test_out_of_range_labels_are_a_clear_error(metric, predictions, references, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        metric.compute(predictions=predictions, references=references)


def test_script_imports_only_pip_packages_one_per_line() -> None:
    tree = ast.parse(SCRIPT.read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]

    assert imports
    for node in imports:
        names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        assert len(names) == 1 and names[0], ast.unparse(node)  # evaluate parses one import per line
        assert getattr(node, "level", 0) == 0, ast.unparse(node)
        top = names[0].split(".")[0]
        origin = importlib.util.find_spec(top).origin or ""
        assert "site-packages" in origin, f"{top} is not a pip package ({origin})"


def test_metric_card_has_evaluate_space_header_and_sections() -> None:
    import yaml

    _, front, body = (METRIC_DIR / "README.md").read_text().split("---\n", 2)
    meta = yaml.safe_load(front)

    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and (METRIC_DIR / "app.py").is_file()
    assert {"evaluate", "metric"} <= set(meta["tags"])
    for section in ("# Metric Card for facemask_metrics", "## Metric Description", "## How to Use", "### Inputs",
                    "### Output Values", "### Examples", "## Limitations and Bias", "## Citation"):  # fmt: skip
        assert section in body
    for key in ("accuracy", "macro_f1", "unsafe_error", "per_class", "confusion_matrix"):
        assert f"**{key}**" in body


def test_card_example_gives_the_printed_results(metric) -> None:
    results = metric.compute(predictions=[0, 0, 1, 0], references=[0, 1, 1, 2])

    card = (METRIC_DIR / "README.md").read_text()
    assert repr((results["accuracy"], results["unsafe_error"], results["confusion_matrix"])) in card
    assert repr(results["per_class"]["without_mask"]) in card


def test_training_metrics_are_the_evaluate_module_figures(metric) -> None:
    from training.metrics import classification_metrics, unsafe_errors

    rng = np.random.default_rng(7)
    true, pred = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    module = metric.compute(predictions=pred, references=true)
    training = classification_metrics(true, pred)

    for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix", "unsafe_errors"):
        assert training[key] == module[key]
    assert training["unsafe_error_rate"] == module["unsafe_error"]
    assert unsafe_errors(true, pred) == (module["unsafe_errors"], module["per_class"]["without_mask"]["support"])
    low, high = training["accuracy_ci95"]
    assert low < module["accuracy"] < high
