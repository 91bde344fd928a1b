"""The app in a real headless Chromium: upload, live webcam (fake camera) and the iframe embedding.

Screenshots are saved to ``test-artifacts/browser/`` for a human look.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest

from facemask.io import load_image
from tests.appserver import REPO, AppServer, running_app

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium chromium-driver)", allow_module_level=True)
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect, sync_playwright  # noqa: E402

DATA = REPO / "tests" / "data"
SHOTS = REPO / "test-artifacts" / "browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)


def write_face_clip(path: Path, frames: int = 45, width: int = 640, height: int = 480) -> Path:
    """A Y4M clip (Chromium's fake camera format) of the astronaut's face drifting side to side."""
    face = cv2.resize(load_image(DATA / "astronaut.jpg")[0:320, 60:380], (300, 300), interpolation=cv2.INTER_AREA)
    with path.open("wb") as clip:
        clip.write(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            canvas = np.full((height, width, 3), 110, dtype=np.uint8)
            x = 170 + int(30 * np.sin(2 * np.pi * i / frames))
            canvas[90:390, x : x + 300] = face
            clip.write(b"FRAME\n" + cv2.cvtColor(canvas, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    yield from running_app(tmp_path_factory.mktemp("browser-app"), env={"HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    clip = write_face_clip(tmp_path_factory.mktemp("camera") / "face.y4m")
    camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              f"--use-file-for-fake-video-capture={clip}"]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS + camera)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, permissions=["camera"])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def upload(scope: Page | FrameLocator, path: Path) -> None:
    """Put ``path`` into the photo input of ``scope`` (a page or a frame locator)."""
    scope.locator("#photo-input input[type=file]").set_input_files(str(path))


def image_loaded(locator: Locator) -> bool:
    return bool(locator.evaluate("img => img.complete && img.naturalWidth > 0"))


def test_upload_shows_annotated_image_summary_chart_and_table(page: Page, server: AppServer) -> None:
    page.goto(server.url, wait_until="domcontentloaded")
    upload(page, DATA / "group.jpg")

    output = page.locator("#photo-output img")
    output.wait_for()
    expect(page.locator("#summary")).to_contain_text("6 faces")
    expect(page.locator("#confidence")).to_contain_text("largest face")
    expect(page.locator("#confidence")).to_contain_text("%")
    expect(page.locator('#faces-table [role=gridcell][data-col="0"]')).to_have_count(6)  # one row per face
    assert image_loaded(output)

    page.locator('#faces-table [data-testid="cell-4-1"]').click()
    expect(page.locator("#confidence")).to_contain_text("face #5 (selected)")


def test_live_webcam_streams_processed_frames_back(page: Page, server: AppServer) -> None:
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("tab", name="Live webcam").click()
    webcam = page.locator("#webcam-input")
    webcam.get_by_text("Click to Access Webcam").click()
    page.wait_for_function("() => { const v = document.querySelector('#webcam-input video'); return v && v.readyState >= 2; }")
    webcam.get_by_role("button", name="capture photo").click()

    output = page.locator("#webcam-output img")
    output.wait_for()
    first = output.get_attribute("src")
    page.wait_for_function(
        "first => { const img = document.querySelector('#webcam-output img'); return img && img.src !== first; }",
        arg=first,
    )
    expect(page.locator("#summary")).to_contain_text("1 face")
    expect(page.locator("#confidence")).to_contain_text("%")
    # frames replace each other many times a second: wait for one to finish loading rather than sample one
    page.wait_for_function(
        "() => { const img = document.querySelector('#webcam-output img'); return img && img.complete && img.naturalWidth > 0; }"
    )


def test_embed_page_shows_the_app_in_an_iframe(page: Page, server: AppServer) -> None:
    embed = (REPO / "docs" / "embed.html").as_uri() + f"?src={server.url}"
    page.goto(embed, wait_until="domcontentloaded")

    frame = page.frame_locator("#facemask-app")
    expect(frame.get_by_role("heading", name="Face-mask detector")).to_be_visible()
    assert "camera" in (page.locator("#facemask-app").get_attribute("allow") or "")
    upload(frame, DATA / "astronaut_masked.jpg")
    expect(frame.locator("#summary")).to_contain_text("1 face")
    assert image_loaded(frame.locator("#photo-output img"))
