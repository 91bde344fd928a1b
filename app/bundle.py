"""Assemble the Hugging Face Space folder: the app, its README and requirements, examples and a copy of the core.

The Space's root gets ``app.py``, ``handlers.py`` and ``about.py`` with the ``facemask`` package and the
evaluate module ``metrics/facemask_metrics`` beside them (so ``app.py`` imports them as it does one folder
up in the repository), the README with its Spaces YAML, and ``requirements.txt``. The model is not copied:
the Space loads the Hub repo named first in the README's
``models:`` (set with ``--model-repo``), or the one in the Space variable ``FACEMASK_MODEL``.

Run: ``python app/bundle.py DEST [--model-repo OWNER/NAME] [--dataset-repo OWNER/NAME]``; then upload
``DEST`` as it is (e.g. ``HfApi().upload_folder(folder_path=DEST, repo_id=..., repo_type="space")``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
APP_FILES = ("app.py", "handlers.py", "about.py", "video_tab.py", "requirements.txt")
METRIC_MODULE = Path("metrics") / "facemask_metrics"
"""The evaluate module the "About the model" tab measures with, copied as it is in the repository."""


def build_space(dest: Path, model_repo: str | None = None, dataset_repo: str | None = None) -> Path:
    """Write the Space bundle to ``dest`` (an earlier bundle there is replaced) and return it."""
    from huggingface_hub import SpaceCard

    dest = dest.resolve()
    if HERE.is_relative_to(dest) or dest.is_relative_to(HERE) or dest.is_relative_to(REPO / "facemask"):
        raise ValueError(f"{dest} would overwrite the app's own sources; choose another folder")
    if dest.exists():
        if any(dest.iterdir()) and not (dest / "app.py").is_file():
            raise FileExistsError(f"{dest} is not empty and holds no earlier Space bundle; choose another folder")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in APP_FILES:
        shutil.copy2(HERE / name, dest / name)
    shutil.copytree(HERE / "examples", dest / "examples")
    shutil.copytree(REPO / "facemask", dest / "facemask", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(REPO / METRIC_MODULE, dest / METRIC_MODULE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    card = SpaceCard.load(HERE / "README.md")
    if model_repo:
        card.data.models = [model_repo]
    if dataset_repo:
        card.data.datasets = [dataset_repo]
    card.save(dest / "README.md")
    return dest


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python app/bundle.py", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to write (replaced if it exists)")
    parser.add_argument("--model-repo", help="Hub model repo the Space loads (default: the README's models entry)")
    parser.add_argument("--dataset-repo", help="Hub dataset repo named in the Space's YAML")
    args = parser.parse_args(argv)
    try:
        print(build_space(args.dest, args.model_repo, args.dataset_repo))
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
