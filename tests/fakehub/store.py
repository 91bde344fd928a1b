"""In-memory repositories with a git-like, content-addressed commit history."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import gitobj

REPO_TYPES = ("model", "dataset", "space")
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_NAME_RE = re.compile(r"^(?!.*(--|\.\.))[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")


class HubError(Exception):
    """An error the server answers with `status`, a JSON `{"error": message}` and optional `X-Error-Code`."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers = headers or {}


@dataclass(frozen=True)
class FileEntry:
    """A file of a commit: its content hash, size and whether git stores it as an LFS pointer."""

    sha256: str
    size: int
    lfs: bool

    @property
    def pointer(self) -> bytes:
        """The git-lfs pointer git stores for this file (meaningful for LFS files only)."""
        return gitobj.lfs_pointer(self.sha256, self.size)


@dataclass(frozen=True)
class Commit:
    """An immutable commit: full file map plus hashes of every file (git blob) and folder (git tree)."""

    sha: str
    parent: str | None
    tree: str
    files: dict[str, FileEntry]
    blob_oids: dict[str, str]
    folder_oids: dict[str, str]
    title: str
    message: str
    author: str
    date: datetime


@dataclass
class Repo:
    """A repository: its branches, all its commits and the LFS objects uploaded to it."""

    repo_type: str
    repo_id: str
    private: bool
    sdk: str | None
    created_at: datetime
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    lfs_oids: set[str] = field(default_factory=set)

    @property
    def url_path(self) -> str:
        return URL_PREFIXES[self.repo_type] + self.repo_id

    def resolve(self, revision: str) -> Commit:
        """Resolve a branch name, `refs/heads/<branch>`, or (abbreviated) commit sha."""
        branch = revision.removeprefix("refs/heads/")
        if branch in self.branches:
            return self.commits[self.branches[branch]]
        if _SHA_RE.match(revision):
            found = [c for sha, c in list(self.commits.items()) if sha.startswith(revision)]
            if len(found) == 1:
                return found[0]
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def history(self, revision: str) -> Iterator[Commit]:
        """Yield the commits reachable from `revision`, newest first."""
        commit: Commit | None = self.resolve(revision)
        while commit is not None:
            yield commit
            commit = self.commits[commit.parent] if commit.parent else None

    def last_commit(self, head: Commit, path: str) -> Commit:
        """Return the newest commit, from `head` back, that changed file or folder `path`."""

        def oid(c: Commit) -> str | None:
            return c.blob_oids.get(path) or c.folder_oids.get(path)

        current = head
        while current.parent is not None:
            parent = self.commits[current.parent]
            if oid(parent) != oid(current):
                return current
            current = parent
        return current


@dataclass(frozen=True)
class Operation:
    """One validated line of a commit payload."""

    kind: str  # "file", "lfsFile", "deletedFile" or "deletedFolder"
    path: str
    content: bytes = b""
    sha256: str = ""
    size: int = 0


class HubStore:
    """All repositories and blobs; every method is atomic under one lock."""

    def __init__(self, user: str):
        self.user = user
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], Repo] = {}
        self.blobs: dict[str, bytes] = {}

    def get(self, repo_type: str, repo_id: str, *, authorized: bool) -> Repo:
        """Return a repo; missing (or private for anonymous users) is `RepoNotFound`, as on the Hub."""
        with self.lock:
            repo = self.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not authorized):
            raise HubError(404 if authorized else 401, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def create_repo(self, repo_type: str, namespace: str, name: str, private: bool, sdk: str | None) -> Repo:
        """Create a repo with the Hub's "initial commit" holding the default `.gitattributes`."""
        if repo_type not in REPO_TYPES:
            raise HubError(400, f"Invalid repo type: {repo_type}")
        if not (_NAME_RE.match(namespace) and _NAME_RE.match(name)):
            raise HubError(400, f"Invalid repo name: {namespace}/{name}")
        if repo_type == "space" and not sdk:
            raise HubError(400, "A Space needs an sdk (gradio, docker, static, ...)")
        repo_id = f"{namespace}/{name}"
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                raise HubError(409, f"You already created this {repo_type} repo")
            repo = Repo(repo_type, repo_id, private, sdk, created_at=datetime.now(UTC))
            self._apply(
                repo,
                "main",
                [Operation("file", ".gitattributes", gitobj.DEFAULT_GITATTRIBUTES.encode())],
                title="initial commit",
                message="",
                author="system",
                parent_commit=None,
            )
            self.repos[(repo_type, repo_id)] = repo
            return repo

    def delete_repo(self, repo_type: str, repo_id: str) -> None:
        with self.lock:
            if self.repos.pop((repo_type, repo_id), None) is None:
                raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")

    def create_branch(self, repo: Repo, branch: str, starting_point: str | None) -> None:
        with self.lock:
            if branch in repo.branches:
                raise HubError(409, f"Branch {branch} already exists")
            if not re.match(r"^[A-Za-z0-9._/-]+$", branch) or branch.startswith("refs/"):
                raise HubError(400, f"Invalid branch name: {branch}")
            repo.branches[branch] = repo.resolve(starting_point or "main").sha

    def content(self, entry: FileEntry) -> bytes:
        with self.lock:
            return self.blobs[entry.sha256]

    def add_lfs_object(self, repo: Repo, sha256: str, data: bytes) -> None:
        """Store an uploaded (and checked) LFS object for `repo`."""
        with self.lock:
            self.blobs.setdefault(sha256, data)
            repo.lfs_oids.add(sha256)

    def has_lfs_object(self, repo: Repo, sha256: str, size: object) -> bool:
        with self.lock:
            return sha256 in repo.lfs_oids and len(self.blobs[sha256]) == size

    def commit(
        self, repo: Repo, branch: str, ops: list[Operation], *, title: str, message: str, parent_commit: str | None
    ) -> Commit:
        """Apply `ops` to the head of `branch` atomically: either all of them land in one new commit or none."""
        with self.lock:
            return self._apply(
                repo, branch, ops, title=title, message=message, author=self.user, parent_commit=parent_commit
            )

    def _apply(
        self,
        repo: Repo,
        branch: str,
        ops: Iterable[Operation],
        *,
        title: str,
        message: str,
        author: str,
        parent_commit: str | None,
    ) -> Commit:
        head = repo.commits[repo.branches[branch]] if branch in repo.branches else None
        if branch not in repo.branches and repo.commits:
            raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        if parent_commit is not None and (head is None or not head.sha.startswith(parent_commit)):
            raise HubError(412, f"Parent commit {parent_commit} is not the head of {branch}")
        files = dict(head.files) if head else {}
        new_blobs: dict[str, bytes] = {}
        for op in ops:
            if op.kind == "file":
                sha = hashlib.sha256(op.content).hexdigest()
                new_blobs[sha] = op.content
                files[op.path] = FileEntry(sha, len(op.content), lfs=False)
            elif op.kind == "lfsFile":
                if op.sha256 not in repo.lfs_oids:
                    raise HubError(422, f"LFS object {op.sha256} for '{op.path}' was never uploaded to this repo")
                size = len(self.blobs[op.sha256])
                if op.size and op.size != size:
                    raise HubError(422, f"LFS object {op.sha256} has size {size}, not {op.size}")
                files[op.path] = FileEntry(op.sha256, size, lfs=True)
            elif op.kind == "deletedFile":
                if files.pop(op.path, None) is None:
                    raise HubError(404, f"A file with this name doesn't exist: {op.path}", "EntryNotFound")
            else:
                doomed = [p for p in files if p.startswith(op.path + "/")]
                if not doomed:
                    raise HubError(404, f"A folder with this name doesn't exist: {op.path}", "EntryNotFound")
                for path in doomed:
                    del files[path]
        _check_no_file_folder_clash(files)
        blob_oids = {
            path: head.blob_oids[path]
            if head and head.files.get(path) == entry
            else gitobj.git_object_sha("blob", entry.pointer if entry.lfs else new_blobs[entry.sha256])
            for path, entry in files.items()
        }
        folders = gitobj.tree_shas(blob_oids)
        timestamp = int(time.time())
        full_message = f"{title}\n\n{message}".strip() if message else title
        sha = gitobj.commit_sha(folders[""], head.sha if head else None, author, timestamp, full_message)
        folder_oids = {k: v for k, v in folders.items() if k}
        commit = Commit(
            sha,
            head.sha if head else None,
            folders[""],
            files,
            blob_oids,
            folder_oids,
            title,
            message,
            author,
            datetime.fromtimestamp(timestamp, UTC),
        )
        self.blobs.update(new_blobs)
        repo.commits[sha] = commit
        repo.branches[branch] = sha
        return commit


def _check_no_file_folder_clash(files: dict[str, FileEntry]) -> None:
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in files:
                raise HubError(400, f"'{'/'.join(parts[:depth])}' is a file, cannot add '{path}' below it")
