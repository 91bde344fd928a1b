"""The model folder (timm's Hub layout, safetensors only) to a Hub model repo, in one commit."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from huggingface_hub import HfApi
from huggingface_hub.repocard import metadata_load, metadata_save

from facemask.model import CONFIG_NAME, WEIGHTS_NAME, read_config

from .commit import FileEntry, PushResult, commit_folder, format_plan, list_files
from .settings import PublishError, RepoIds

PICKLE_SUFFIXES = frozenset({".bin", ".pth", ".pt", ".pkl", ".pickle", ".ckpt"})
"""Weight formats that unpickle (run code) when loaded: never published."""
CARD_NAME = "README.md"
DEFAULT_REPOS = RepoIds.build()


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


def retarget_card(card_path: Path, repos: RepoIds) -> None:
    """Point the card at the repos being published: its dataset id and the default model and Space ids, wherever
    they appear (the ``gradio_client`` snippet names the Space).

    The training step writes the card for the default repo ids (``datasets:``, the ``model-index``
    dataset, usage snippets); publishing under another name replaces them, leaving the rest as it is.
    """
    metadata = metadata_load(card_path) or {}
    if metadata.get("library_name") != "timm":
        print(f"warning: the model card {card_path.name} does not say `library_name: timm`", file=sys.stderr)
    named = metadata.get("datasets") or []
    renames = {DEFAULT_REPOS.model: repos.model, DEFAULT_REPOS.space: repos.space,
               (named[0] if named else DEFAULT_REPOS.dataset): repos.dataset}
    text = card_path.read_text(encoding="utf-8")
    for old, new in renames.items():
        text = text.replace(old, new)
    card_path.write_text(text, encoding="utf-8")
    metadata = metadata_load(card_path) or {}
    if metadata.get("datasets") != [repos.dataset]:
        metadata_save(card_path, {**metadata, "datasets": [repos.dataset]})


def stage_model(folder: Path, dest: Path, repos: RepoIds) -> Path:
    """Copy the checked folder to ``dest``, its model card pointing at the repos being published."""
    check_model_folder(folder)
    shutil.copytree(folder, dest, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    if (dest / CARD_NAME).is_file():
        retarget_card(dest / CARD_NAME, repos)
    else:
        print(f"warning: {folder} has no model card ({CARD_NAME}); publishing without one", file=sys.stderr)
    return dest


def plan_model(folder: Path, staging: Path, repos: RepoIds) -> str:
    """What ``push-model`` would upload (``--dry-run``)."""
    return format_plan("model", repos.model, list_files(stage_model(folder, staging, repos)))


def push_model(api: HfApi, folder: Path, staging: Path, repos: RepoIds, private: bool) -> PushResult:
    """Create the model repo if needed and make its files equal the (staged) folder's, atomically."""
    staged = stage_model(folder, staging, repos)
    api.create_repo(repos.model, repo_type="model", private=private, exist_ok=True)
    return commit_folder(api, "model", repos.model, "model", staged, "Upload face-mask classifier (timm, safetensors)")
