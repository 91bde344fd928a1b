"""The Gradio Space: the app's own bundle (``app/bundle.py``), its card naming the model and dataset repos.

The bundle is ``app.py`` + ``handlers.py`` + ``about.py`` + examples + ``requirements.txt`` with a copy
of the ``facemask`` core and of the evaluate module ``metrics/facemask_metrics`` beside them, and no
model: the app (``app/app.py: model_source``) reads the model repo id from the first ``models:`` entry
of the Space card's YAML, which is set here, and downloads the model when it starts; its "About the
model" tab (``app/about.py``) measures the model on the test split of the first ``datasets:`` entry.
The same YAML links the Space to the model and dataset pages on the Hub.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from huggingface_hub import HfApi, SpaceCard

from .commit import PushResult, commit_folder, format_plan, list_files
from .settings import PublishError, RepoIds

BUNDLER = "bundle.py"
REQUIRED_FILES = ("about.py", "metrics/facemask_metrics/facemask_metrics.py")
"""Besides the card's app_file: the About tab and the metric module it measures with."""


def _load_bundler(app_dir: Path) -> ModuleType:
    """The app's ``bundle.py`` (``app/`` is a folder of scripts, not a package)."""
    path = app_dir / BUNDLER
    if not path.is_file():
        raise PublishError(f"{path} is missing: the app folder must say how to bundle itself")
    spec = importlib.util.spec_from_file_location("facemask_app_bundle", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_bundle(bundle: Path, repos: RepoIds) -> SpaceCard:
    """The bundle's card, after checking it declares a gradio Space that runs a file of the bundle for these repos."""
    readme = bundle / "README.md"
    if not readme.is_file():
        raise PublishError("the Space bundle has no README.md (the Space card)")
    card = SpaceCard.load(readme)
    data = card.data
    if data.sdk != "gradio":
        raise PublishError(f"the Space card declares sdk {data.sdk!r}, not gradio")
    if not data.app_file or not (bundle / str(data.app_file)).is_file():
        raise PublishError(f"the Space card's app_file {data.app_file!r} is not in the bundle")
    missing = [name for name in REQUIRED_FILES if not (bundle / name).is_file()]
    if missing:
        raise PublishError(f"the Space bundle lacks {', '.join(missing)}")
    if data.models != [repos.model] or data.datasets != [repos.dataset]:
        raise PublishError(f"the Space card names models {data.models} and datasets {data.datasets}, not {repos.model} / {repos.dataset}")
    return card


def build_bundle(app_dir: Path, dest: Path, repos: RepoIds) -> Path:
    """Write the Space's files to ``dest`` (a new folder, outside the repo) and check them."""
    try:
        bundle = Path(_load_bundler(app_dir).build_space(dest, model_repo=repos.model, dataset_repo=repos.dataset))
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        raise PublishError(f"cannot bundle {app_dir}: {exc}") from None
    check_bundle(bundle, repos)
    return bundle


def plan_space(app_dir: Path, staging: Path, repos: RepoIds) -> str:
    """What ``deploy-space`` would upload (``--dry-run``)."""
    bundle = build_bundle(app_dir, staging, repos)
    return format_plan("space", repos.space, list_files(bundle), note=f"model {repos.model}, dataset {repos.dataset}")


def deploy_space(api: HfApi, app_dir: Path, staging: Path, repos: RepoIds, private: bool) -> PushResult:
    """Create the gradio Space if needed and make its files equal the bundle's, atomically."""
    bundle = build_bundle(app_dir, staging, repos)
    api.create_repo(repos.space, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    return commit_folder(api, "space", repos.space, "space", bundle, "Deploy the face-mask detector app")
