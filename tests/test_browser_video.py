"""The Video tab in a real headless Chromium: upload a generated clip, see the processed video play and the plot.

A screenshot is saved to ``test-artifacts/browser/`` for a human look.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from tests.appserver import REPO, AppServer, running_app
from tests.clips import write_clip

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium chromium-driver)", allow_module_level=True)
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

SHOTS = REPO / "test-artifacts" / "browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"]
TIMEOUT_MS = 120_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    yield from running_app(tmp_path_factory.mktemp("browser-video-app"), env={"HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1200})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_uploaded_clip_comes_back_playing_with_summary_and_plot(
    page: Page, server: AppServer, tmp_path: Path
) -> None:
    clip = write_clip(tmp_path / "walk.mp4", seconds=2.0)
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("tab", name="Video").click()
    expect(page.locator("#video-help")).to_contain_text("Limits: up to")
    page.locator("#video-input input[type=file]").set_input_files(str(clip.path))

    expect(page.locator("#video-summary")).to_contain_text("1 distinct face: 1 no mask", timeout=TIMEOUT_MS)
    expect(page.locator("#video-summary")).to_contain_text("50 frames, 320×240, 25 fps")
    page.wait_for_function(
        """() => { const v = document.querySelector('#video-output video');
                   if (!v) return false; if (v.paused) v.play().catch(() => {});
                   return v.readyState >= 2 && v.currentTime > 0.2 && v.videoWidth === 320; }"""
    )
    duration = page.evaluate("() => document.querySelector('#video-output video').duration")
    assert duration == pytest.approx(2.0, abs=0.05)
    page.locator("#video-plot").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => !!document.querySelector('#video-plot canvas, #video-plot svg.marks, #video-plot .vega-embed')"
    )
