"""Read-only views of the fake Hub's state, for tests to assert on."""

from __future__ import annotations

from dataclasses import dataclass

from .store import Commit, HubStore, Repo


@dataclass(frozen=True)
class RepoView:
    """A repo of the running fake Hub, read through its store."""

    store: HubStore
    repo: Repo

    @property
    def private(self) -> bool:
        return self.repo.private

    def head(self, branch: str = "main") -> str:
        """Commit sha the branch points to."""
        with self.store.lock:
            return self.repo.branches[branch]

    def commits(self, revision: str = "main") -> list[Commit]:
        """Commits reachable from `revision`, newest first (the last one is the Hub's "initial commit")."""
        with self.store.lock:
            return list(self.repo.history(revision))

    def files(self, revision: str = "main") -> dict[str, bytes]:
        """Every file of the repo at `revision`, with its content."""
        with self.store.lock:
            commit = self.repo.resolve(revision)
            return {path: self.store.blobs[entry.sha256] for path, entry in commit.files.items()}

    def lfs_files(self, revision: str = "main") -> set[str]:
        """Paths stored through LFS at `revision`."""
        with self.store.lock:
            return {path for path, entry in self.repo.resolve(revision).files.items() if entry.lfs}
