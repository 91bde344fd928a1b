"""Pytest fixtures for the fake Hub; import them into a test module or a conftest to use them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from .client import run_client
from .server import HubHandle, run_hub


@pytest.fixture(scope="module")
def fake_hub() -> Iterator[HubHandle]:
    """A fake Hub on a free port (token `hf_test_token`), shared by the tests of a module."""
    with run_hub() as hub:
        yield hub


@pytest.fixture
def hub_client(fake_hub: HubHandle, tmp_path: Path) -> Callable[..., Any]:
    """`hub_client(code, token=True, hf_home=None, timeout=120)` runs client code against `fake_hub`.

    Each call gets a fresh `HF_HOME` under `tmp_path` unless `hf_home` is given; see `client.run_client`.
    """
    counter = itertools.count()

    def run(
        code: str, *, token: str | None | Literal[True] = True, hf_home: Path | None = None, timeout: float = 120
    ) -> Any:
        home = hf_home or tmp_path / f"hf_home_{next(counter)}"
        return run_client(fake_hub, code, home, token=token, cwd=tmp_path, timeout=timeout)

    return run
