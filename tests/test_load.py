"""A smaller version of ``benchmarks/load_test.py``: concurrent ``gradio_client`` users and webcam-like streams.

8 users x 3 requests at once against a real server, then 3 simulated webcams at once: no errors,
every answer correct (faces found, image size), no stream starved. Latency targets live in the
benchmark, not here.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from benchmarks.load_test import EXPECTED_FACES, run_streams, run_users
from tests.appserver import AppServer, running_app

pytest.importorskip("gradio_client")

USERS, REQUESTS = 8, 3


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[AppServer]:
    yield from running_app(tmp_path_factory.mktemp("app"), env={"HF_HUB_OFFLINE": "1"})


def test_concurrent_users_all_get_correct_answers(server: AppServer, tmp_path) -> None:
    outcomes = run_users(server.url, USERS, REQUESTS, tmp_path, budget_s=300, timeout=120)
    assert len(outcomes) == USERS * REQUESTS
    assert [o for o in outcomes if o.error is not None] == []
    assert {o.client for o in outcomes} == set(range(USERS))
    assert {o.image for o in outcomes} == set(EXPECTED_FACES)  # every photo, with its own face count, was checked
    assert server.process.poll() is None


def test_several_webcam_streams_at_once_are_all_served(server: AppServer, tmp_path) -> None:
    outcomes = run_streams(server.url, streams=3, seconds=4.0, fps=5.0, downloads=tmp_path, timeout=60)
    assert [o for o in outcomes if o.error is not None] == []
    per_stream = {n: sum(o.client == n for o in outcomes) for n in range(3)}
    assert all(count >= 1 for count in per_stream.values()), per_stream  # none starved
