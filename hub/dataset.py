"""The face-crop ``DatasetDict`` (saved by ``python -m training prepare``) to a Hub dataset repo, with its card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import CommitOperationAdd, DatasetCard, HfApi

from facemask.labels import LABELS

from .commit import FileEntry, PushResult, format_plan, repo_url
from .dataset_card import SPLITS, build_card
from .settings import PublishError, RepoIds

REPORT_NAME = "prepare_report.json"
"""Written by the prepare step beside the saved dataset: de-duplication and crop counts."""


def load_local_dataset(path: Path) -> Any:
    """The saved ``DatasetDict`` at ``path``, checked: known splits, an ``Image`` column and our ``ClassLabel``."""
    import datasets

    if not (path / "dataset_dict.json").is_file():
        raise PublishError(
            f"{path} holds no saved DatasetDict: run `python -m training prepare` first, or pass --dataset-dir"
        )
    dataset_dict = datasets.load_from_disk(str(path))
    if not isinstance(dataset_dict, datasets.DatasetDict) or "train" not in dataset_dict:
        raise PublishError(f"{path} must hold a DatasetDict with at least a train split")
    unknown = sorted(set(dataset_dict) - set(SPLITS))
    if unknown:
        raise PublishError(f"{path}: unexpected splits {unknown}; expected {list(SPLITS)}")
    features = dataset_dict["train"].features
    if not isinstance(features.get("image"), datasets.Image):
        raise PublishError(f"{path}: the `image` column must be an Image feature")
    label = features.get("label")
    if not isinstance(label, datasets.ClassLabel) or tuple(label.names) != LABELS:
        raise PublishError(f"{path}: the `label` column must be ClassLabel(names={list(LABELS)})")
    return dataset_dict


def read_report(path: Path) -> dict[str, Any] | None:
    """The prepare step's report beside the dataset, if it wrote one."""
    report = path / REPORT_NAME
    return json.loads(report.read_text()) if report.is_file() else None


def prepare_config(report: dict[str, Any] | None) -> dict[str, Any]:
    """The prepare settings the card describes: the report's own, else ``training/config.yaml``'s."""
    if report and isinstance(report.get("config"), dict):
        return report["config"]
    from training.config import load_config

    return load_config().to_dict()


def plan_dataset(path: Path, repos: RepoIds) -> str:
    """What ``push-dataset`` would upload: one Parquet file set per split and the card (``--dry-run``)."""
    dataset_dict = load_local_dataset(path)
    report = read_report(path)
    card = build_card(dataset_dict, repos, report, prepare_config(report))
    entries = [
        FileEntry(f"data/{split}-*.parquet  ({len(ds)} rows)", sum(f.stat().st_size for f in (path / split).glob("*.arrow")))
        for split, ds in dataset_dict.items()
    ]
    entries.append(FileEntry("README.md", len(str(card).encode())))
    return format_plan("dataset", repos.dataset, entries, note="Parquet sizes estimated from the Arrow files")


def push_dataset(api: HfApi, path: Path, repos: RepoIds, private: bool) -> PushResult:
    """Push the splits with ``push_to_hub`` (one commit), then the card (a second commit, skipped if unchanged).

    ``push_to_hub`` keeps the card already in the repo and updates only its ``dataset_info`` and
    ``configs``; the card is then rebuilt around that metadata.
    """
    dataset_dict = load_local_dataset(path)
    report = read_report(path)
    api.create_repo(repos.dataset, repo_type="dataset", private=private, exist_ok=True)
    head = api.repo_info(repos.dataset, repo_type="dataset").sha
    dataset_dict.push_to_hub(repos.dataset, private=private, token=api.token, commit_message="Upload face-mask crops")
    pushed = DatasetCard.load(repos.dataset, repo_type="dataset", token=api.token)
    card = build_card(dataset_dict, repos, report, prepare_config(report), base=pushed.data.to_dict())
    info = api.create_commit(
        repos.dataset,
        operations=[CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(card).encode())],
        commit_message="Update dataset card",
        repo_type="dataset",
    )
    return PushResult("dataset", repos.dataset, repo_url(api, repos.dataset, "dataset"), str(info.oid), info.oid != head)
