"""Shared fixtures: the repo's own small images, and ../shared when it is beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def test_data() -> Path:
    """Folder of the repo's generated test images (see tests/data/make_images.py)."""
    return TEST_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests using it are skipped on a clone without it."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not beside the repo")
    return path


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from facemask.io import load_image

    return load_image(TEST_DATA / "astronaut.jpg")


@pytest.fixture(scope="session")
def pipeline():
    """One pipeline (default settings: bundled model, YuNet or the yuface fallback) for the session."""
    from facemask import Pipeline

    return Pipeline()
