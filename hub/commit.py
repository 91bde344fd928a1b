"""Folders to Hub repos in one atomic commit, and what a push would upload (for ``--dry-run``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

KEEP_REMOTE = frozenset({".gitattributes"})
"""Remote files a folder push never deletes (the Hub creates them)."""


@dataclass(frozen=True)
class FileEntry:
    """A file to upload: its path in the repo and its size in bytes."""

    path: str
    size: int


@dataclass(frozen=True)
class PushResult:
    """The outcome of one push: the repo, its head commit afterwards, and whether that commit is new."""

    kind: str
    repo_id: str
    url: str
    commit: str
    changed: bool

    def describe(self) -> str:
        state = "new commit" if self.changed else "unchanged (no new commit)"
        return f"{self.kind} {self.repo_id}: {state} {self.commit[:12]}  {self.url}"


def human_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def list_files(folder: Path) -> list[FileEntry]:
    """Every file under ``folder`` (sorted, POSIX paths), without hidden files, caches and byte code."""
    entries = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
            continue
        if path.suffix == ".pyc":
            continue
        entries.append(FileEntry(rel.as_posix(), path.stat().st_size))
    return entries


def format_plan(kind: str, repo_id: str, entries: list[FileEntry], note: str = "") -> str:
    """The ``--dry-run`` listing of one artefact: each file with its size, and the total."""
    lines = [f"{kind} -> {repo_id}" + (f"  ({note})" if note else "")]
    lines += [f"  {human_size(e.size):>10}  {e.path}" for e in entries]
    lines.append(f"  {human_size(sum(e.size for e in entries)):>10}  total, {len(entries)} files")
    return "\n".join(lines)


def repo_url(api: HfApi, repo_id: str, repo_type: str) -> str:
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    return f"{api.endpoint}/{prefix}{repo_id}"


def commit_folder(api: HfApi, kind: str, repo_id: str, repo_type: str, folder: Path, message: str) -> PushResult:
    """Make the repo's files equal ``folder``'s in a single commit: added, changed and deleted files at once.

    One ``create_commit`` (not ``upload_folder``, which may split large uploads into several commits
    when ``hf_xet`` is installed) keeps the push atomic: a failure leaves the previous commit as it was.
    Unchanged files are skipped by the client, so pushing an unchanged folder creates no commit.
    """
    head = api.repo_info(repo_id, repo_type=repo_type).sha
    local = list_files(folder)
    local_paths = {e.path for e in local}
    remote = api.list_repo_files(repo_id, repo_type=repo_type, revision=head)
    operations: list[CommitOperationAdd | CommitOperationDelete] = [
        CommitOperationAdd(path_in_repo=e.path, path_or_fileobj=str(folder / e.path)) for e in local
    ]
    operations += [CommitOperationDelete(path_in_repo=p) for p in remote if p not in local_paths and p not in KEEP_REMOTE]
    info = api.create_commit(
        repo_id, operations=operations, commit_message=message, repo_type=repo_type, parent_commit=head
    )
    return PushResult(kind, repo_id, repo_url(api, repo_id, repo_type), str(info.oid), changed=info.oid != head)
