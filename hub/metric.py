"""The ``evaluate`` metric module (``metrics/facemask_metrics``) to a Hub metric Space, as evaluate's own metrics are.

The Space holds the module script, its metric card (``README.md``, a Space card with ``sdk: gradio`` and
the tags ``evaluate`` and ``metric``), ``app.py`` (``evaluate.utils.launch_gradio_widget``) and the
Space's ``requirements.txt``. ``evaluate.load("<owner>/facemask_metrics")`` then downloads
``facemask_metrics.py`` from the Space (``<HF_ENDPOINT>/spaces/<owner>/facemask_metrics/resolve/<rev>/``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from huggingface_hub import HfApi, SpaceCard

from facemask.config import REPO_DIR

from .commit import PushResult, commit_folder, format_plan, list_files
from .settings import DEFAULT_NAMESPACE, PublishError, _check_repo_id

METRIC_NAME = "facemask_metrics"
"""The module's name: its folder, its script (``<name>.py``) and the Space's name all carry it."""
METRIC_DIR = REPO_DIR / "metrics" / METRIC_NAME
SPACE_FILES = (f"{METRIC_NAME}.py", "README.md", "app.py", "requirements.txt")
REQUIRED_TAGS = frozenset({"evaluate", "metric"})


def metric_repo(namespace: str = DEFAULT_NAMESPACE, repo_id: str | None = None) -> str:
    """``<namespace>/facemask_metrics``, or ``repo_id`` (``owner/facemask_metrics``) when given.

    evaluate loads ``<owner>/<name>`` from the Space's ``<name>.py``, so the Space keeps the module's name.
    """
    if not namespace or "/" in namespace:
        raise PublishError(f"namespace {namespace!r} must be a user or organisation name")
    repo = _check_repo_id(repo_id or f"{namespace}/{METRIC_NAME}")
    if repo.split("/")[1] != METRIC_NAME:
        raise PublishError(
            f"the metric Space must be named {METRIC_NAME} (evaluate.load(\"owner/name\") reads name.py), not {repo}"
        )
    return repo


def check_metric_folder(folder: Path) -> SpaceCard:
    """The folder's metric card, after checking the folder holds a metric Space evaluate can load."""
    missing = [name for name in SPACE_FILES if not (folder / name).is_file()]
    if missing:
        raise PublishError(f"{folder} is not a metric module folder: {', '.join(missing)} missing")
    card = SpaceCard.load(folder / "README.md")
    data = card.data
    if data.sdk != "gradio" or data.app_file != "app.py":
        raise PublishError(f"the metric card declares sdk {data.sdk!r} and app_file {data.app_file!r}, not gradio / app.py")
    tags = set(data.tags or [])
    if not REQUIRED_TAGS <= tags:
        raise PublishError(f"the metric card's tags {sorted(tags)} must include {sorted(REQUIRED_TAGS)}")
    if "launch_gradio_widget" not in (folder / "app.py").read_text(encoding="utf-8"):
        raise PublishError(f"{folder / 'app.py'} must launch evaluate's widget (evaluate.utils.launch_gradio_widget)")
    return card


def stage_metric(folder: Path, dest: Path) -> Path:
    """Copy the Space's files of the checked metric folder to ``dest``."""
    check_metric_folder(folder)
    dest.mkdir(parents=True)
    for name in SPACE_FILES:
        shutil.copy2(folder / name, dest / name)
    return dest


def plan_metric(folder: Path, staging: Path, repo_id: str) -> str:
    """What ``push-metric`` would upload (``--dry-run``)."""
    return format_plan("metric", repo_id, list_files(stage_metric(folder, staging)), note="evaluate metric Space")


def push_metric(api: HfApi, folder: Path, staging: Path, repo_id: str, private: bool) -> PushResult:
    """Create the metric Space if needed and make its files equal the module's, atomically."""
    staged = stage_metric(folder, staging)
    api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    return commit_folder(api, "metric", repo_id, "space", staged, "Upload the facemask_metrics evaluate module")
