"""``python -m hub push-metric`` publishes the evaluate module as a metric Space on a local Hub server, and
``evaluate.load("<owner>/facemask_metrics")`` loads it back from there in a fresh cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.fakehub import HubHandle
from tests.fakehub.client import run_client
from tests.fakehub.fixtures import fake_hub  # noqa: F401  (pytest fixture)
from tests.test_hub import assert_clean_failure, hub_cli

REPO = Path(__file__).resolve().parents[1]
METRIC_DIR = REPO / "metrics" / "facemask_metrics"
METRIC_REPO = "tester/facemask_metrics"
EXAMPLE = {"predictions": [0, 2, 1, 1, 0, 0, 1], "references": [1, 1, 1, 1, 2, 0, 2]}


@pytest.fixture(scope="module")
def pushed(fake_hub: HubHandle, tmp_path_factory: pytest.TempPathFactory):
    proc = hub_cli(fake_hub, tmp_path_factory.mktemp("hf_metric"), "push-metric", "--namespace", "tester")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_push_metric_creates_a_gradio_metric_space_like_evaluates_own(fake_hub: HubHandle, pushed) -> None:
    assert f"metric {METRIC_REPO}: new commit" in pushed.stdout
    space = fake_hub.repo(METRIC_REPO, "space")
    files = space.files()

    assert space.repo.sdk == "gradio"
    assert {"facemask_metrics.py", "README.md", "app.py", "requirements.txt"} <= set(files)
    assert files["facemask_metrics.py"] == (METRIC_DIR / "facemask_metrics.py").read_bytes()
    meta = yaml.safe_load(files["README.md"].decode().split("---\n", 2)[1])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert {"evaluate", "metric"} <= set(meta["tags"])
    app = files["app.py"].decode()
    assert "from evaluate.utils import launch_gradio_widget" in app and "launch_gradio_widget(module)" in app
    assert "evaluate" in files["requirements.txt"].decode()
    assert fake_hub.token not in pushed.stdout + pushed.stderr


def test_evaluate_loads_the_metric_from_the_hub_and_computes_like_the_local_module(fake_hub: HubHandle, pushed,
                                                                                  tmp_path: Path) -> None:  # fmt: skip
    import evaluate

    local = evaluate.load(str(METRIC_DIR), keep_in_memory=True).compute(**EXAMPLE)
    hub = run_client(fake_hub, f"""
        import evaluate
        metric = evaluate.load("{METRIC_REPO}")
        emit({{"result": metric.compute(**{EXAMPLE!r}), "name": metric.name, "module": type(metric).__module__}})
    """, tmp_path / "hf_home", token=None, cwd=tmp_path)  # fmt: skip

    assert hub["result"] == local
    assert hub["result"]["unsafe_errors"] == 1 and hub["result"]["unsafe_error"] == 0.25
    assert hub["name"] == "facemask_metrics"
    assert "tester--facemask_metrics" in hub["module"]  # evaluate's module cache of the Hub copy, not the repo's
    served = [r.path for r in fake_hub.requests() if r.status == 200]
    assert any(p.startswith(f"/spaces/{METRIC_REPO}/resolve/") and p.endswith("/facemask_metrics.py") for p in served)


def test_second_push_metric_without_changes_creates_no_commit(fake_hub: HubHandle, pushed, tmp_path: Path) -> None:
    head = fake_hub.repo(METRIC_REPO, "space").head()

    proc = hub_cli(fake_hub, tmp_path / "hf_home", "push-metric", "--namespace", "tester")

    assert proc.returncode == 0, proc.stderr
    assert f"metric {METRIC_REPO}: unchanged (no new commit)" in proc.stdout
    assert fake_hub.repo(METRIC_REPO, "space").head() == head


def test_metric_space_must_keep_the_module_name(fake_hub: HubHandle, tmp_path: Path) -> None:
    proc = hub_cli(fake_hub, tmp_path / "hf_home", "push-metric", "--repo-id", "tester/other-name")

    assert_clean_failure(proc, "facemask_metrics")
    assert "tester/other-name" not in fake_hub.repo_ids("space")


def test_a_metric_folder_without_its_card_is_refused(fake_hub: HubHandle, tmp_path: Path) -> None:
    folder = tmp_path / "facemask_metrics"
    folder.mkdir()
    for name in ("facemask_metrics.py", "app.py", "requirements.txt"):
        (folder / name).write_bytes((METRIC_DIR / name).read_bytes())

    proc = hub_cli(fake_hub, tmp_path / "hf_home", "push-metric", "--namespace", "tester", "--metric-dir", str(folder))

    assert_clean_failure(proc, "README.md missing")


def test_dry_run_lists_the_metric_space_and_sends_no_request_and_all_includes_it(fake_hub: HubHandle, tmp_path: Path) -> None:
    before = len(fake_hub.requests())
    proc = hub_cli(fake_hub, tmp_path / "hf_home", "push-metric", "--namespace", "someone", "--dry-run", token=None)

    assert proc.returncode == 0, proc.stderr
    assert len(fake_hub.requests()) == before
    assert "metric -> someone/facemask_metrics" in proc.stdout
    for name in ("facemask_metrics.py", "README.md", "app.py", "requirements.txt"):
        assert name in proc.stdout
    from hub.cli import STEPS

    assert STEPS["all"].index("model") < STEPS["all"].index("metric") < STEPS["all"].index("space")
