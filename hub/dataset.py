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


def publishable_part(dataset_dict: Any) -> tuple[Any, dict[str, dict[str, int]]]:
    """The rows whose source may be redistributed, and per left-out source its row count in each split.

    Sources come from ``training.sources.SOURCE_INFO`` (e.g. ``closeups_dev`` and ``rwmfd`` may train a
    model but not be published); a build without a ``source`` column is published as it is.
    """
    import datasets

    from training.sources import publishable

    kept, left_out = {}, {}
    for split, ds in dataset_dict.items():
        if "source" not in ds.column_names:
            kept[split] = ds
            continue
        sources = ds.data.column("source").to_pylist()
        keep = [i for i, src in enumerate(sources) if publishable(src)]
        for src in sources:
            if not publishable(src):
                left_out.setdefault(src, {}).setdefault(split, 0)
                left_out[src][split] += 1
        # flatten_indices: the card reads columns straight from the Arrow table, which a bare select() leaves whole
        kept[split] = ds if len(keep) == len(sources) else ds.select(keep).flatten_indices(keep_in_memory=True)
    return datasets.DatasetDict(kept), left_out


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
    local = load_local_dataset(path)
    dataset_dict, left_out = publishable_part(local)
    report = read_report(path)
    card = build_card(dataset_dict, repos, report, prepare_config(report), left_out=left_out)
    entries = [
        FileEntry(
            f"data/{split}-*.parquet  ({len(ds)} rows)",
            sum(f.stat().st_size for f in (path / split).glob("*.arrow")) * len(ds) // max(len(local[split]), 1),
        )
        for split, ds in dataset_dict.items()
    ]
    entries.append(FileEntry("README.md", len(str(card).encode())))
    note = "Parquet sizes estimated from the Arrow files"
    if left_out:
        note += "; left out (may not be redistributed): " + ", ".join(f"{src} {sum(n.values())} rows" for src, n in sorted(left_out.items()))
    return format_plan("dataset", repos.dataset, entries, note=note)


def push_dataset(api: HfApi, path: Path, repos: RepoIds, private: bool) -> PushResult:
    """Push the publishable rows of the splits with ``push_to_hub`` (one commit), then the card (a second commit).

    ``push_to_hub`` keeps the card already in the repo and updates only its ``dataset_info`` and
    ``configs``; the card is then rebuilt around that metadata.
    """
    dataset_dict, left_out = publishable_part(load_local_dataset(path))
    report = read_report(path)
    api.create_repo(repos.dataset, repo_type="dataset", private=private, exist_ok=True)
    head = api.repo_info(repos.dataset, repo_type="dataset").sha
    dataset_dict.push_to_hub(repos.dataset, private=private, token=api.token, commit_message="Upload face-mask crops")
    pushed = DatasetCard.load(repos.dataset, repo_type="dataset", token=api.token)
    card = build_card(dataset_dict, repos, report, prepare_config(report), base=pushed.data.to_dict(), left_out=left_out)
    info = api.create_commit(
        repos.dataset,
        operations=[CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(card).encode())],
        commit_message="Update dataset card",
        repo_type="dataset",
    )
    return PushResult("dataset", repos.dataset, repo_url(api, repos.dataset, "dataset"), str(info.oid), info.oid != head)
