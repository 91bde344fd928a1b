"""The model folder (timm's Hub layout, safetensors only) to a Hub model repo, in one commit."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from huggingface_hub import HfApi, ModelCard

from facemask.model import CONFIG_NAME, WEIGHTS_NAME, read_config

from .commit import FileEntry, PushResult, commit_folder, format_plan, list_files
from .settings import PublishError, RepoIds

PICKLE_SUFFIXES = frozenset({".bin", ".pth", ".pt", ".pkl", ".pickle", ".ckpt"})
"""Weight formats that unpickle (run code) when loaded: never published."""
CARD_NAME = "README.md"


def check_model_folder(folder: Path) -> list[FileEntry]:
    """The folder's files, after checking it is a loadable timm folder without pickle files."""
    if not folder.is_dir():
        raise PublishError(f"model folder {folder} does not exist: train a model first (python -m training all)")
    entries = list_files(folder)
    pickles = [e.path for e in entries if Path(e.path).suffix.lower() in PICKLE_SUFFIXES]
    if pickles:
        raise PublishError(
            f"refusing to publish pickle files from {folder}: {', '.join(pickles)} (weights belong in {WEIGHTS_NAME})"
        )
    missing = [name for name in (CONFIG_NAME, WEIGHTS_NAME) if not (folder / name).is_file()]
    if missing:
        raise PublishError(f"{folder} is not a timm model folder: {', '.join(missing)} missing")
    try:
        read_config(folder)
    except ValueError as exc:
        raise PublishError(str(exc)) from None
    return entries


def stage_model(folder: Path, dest: Path, repos: RepoIds) -> Path:
    """Copy the folder to ``dest``, its model card's ``datasets:`` pointing at the dataset repo being published."""
    check_model_folder(folder)
    shutil.copytree(folder, dest, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    card_path = dest / CARD_NAME
    if not card_path.is_file():
        print(f"warning: {folder} has no model card ({CARD_NAME}); publishing without one", file=sys.stderr)
        return dest
    card = ModelCard.load(card_path)
    if card.data.library_name != "timm":
        print(f"warning: the model card in {folder} does not say `library_name: timm`", file=sys.stderr)
    if card.data.datasets != [repos.dataset]:
        card.data.datasets = [repos.dataset]
        card.save(card_path)
    return dest


def plan_model(folder: Path, staging: Path, repos: RepoIds) -> str:
    """What ``push-model`` would upload (``--dry-run``)."""
    return format_plan("model", repos.model, list_files(stage_model(folder, staging, repos)))


def push_model(api: HfApi, folder: Path, staging: Path, repos: RepoIds, private: bool) -> PushResult:
    """Create the model repo if needed and make its files equal the (staged) folder's, atomically."""
    staged = stage_model(folder, staging, repos)
    api.create_repo(repos.model, repo_type="model", private=private, exist_ok=True)
    return commit_folder(api, "model", repos.model, "model", staged, "Upload face-mask classifier (timm, safetensors)")
