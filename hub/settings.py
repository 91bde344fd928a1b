"""Where artefacts come from on disk and which Hub repos they go to: the defaults, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from facemask.config import BUNDLED_MODEL_DIR, REPO_DIR

DEFAULT_NAMESPACE = "facemask"
DATASET_NAME = "face-mask-crops"
MODEL_NAME = "facemask-mobilenetv2"
SPACE_NAME = "facemask-demo"

DATASET_DIR = REPO_DIR / "artifacts" / "dataset"
"""Where ``python -m training prepare`` saves the ``DatasetDict`` (``save_to_disk``)."""
MODEL_DIR = BUNDLED_MODEL_DIR
APP_DIR = REPO_DIR / "app"


class PublishError(Exception):
    """A problem the user can fix (missing token, bad folder, refused push); shown without a traceback."""


def _check_repo_id(repo_id: str) -> str:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts):
        raise PublishError(f"repo id {repo_id!r} must look like owner/name")
    return repo_id


@dataclass(frozen=True)
class RepoIds:
    """The three Hub repos: ``<namespace>/<name>`` unless one is given in full."""

    dataset: str
    model: str
    space: str

    @classmethod
    def build(
        cls,
        namespace: str = DEFAULT_NAMESPACE,
        dataset: str | None = None,
        model: str | None = None,
        space: str | None = None,
    ) -> "RepoIds":
        """Repo ids from a namespace, each overridable by a full ``owner/name``."""
        if not namespace or "/" in namespace:
            raise PublishError(f"namespace {namespace!r} must be a user or organisation name")
        return cls(
            dataset=_check_repo_id(dataset or f"{namespace}/{DATASET_NAME}"),
            model=_check_repo_id(model or f"{namespace}/{MODEL_NAME}"),
            space=_check_repo_id(space or f"{namespace}/{SPACE_NAME}"),
        )
