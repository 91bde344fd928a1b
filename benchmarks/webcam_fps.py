"""Processed webcam frames per second delivered to each visitor's browser (Chromium, fake camera).

The app is started here (``python app/app.py`` on 127.0.0.1, its own queue and stream interval;
``--interval`` overrides the interval through ``FACEMASK_WEBCAM_INTERVAL_S`` to compare values in
one run). For each visitor count in ``--visitors`` (default ``1 3``), that many browser pages open
the Live webcam tab, each with Chromium's fake camera playing a generated 640 x 480 clip of one
face, press Record, and count how often the processed image (``#webcam-output img``) changes over
``--seconds`` after a warm-up. Reported per visitor count: frames/s of each visitor, their mean,
the slowest visitor, and the spread (slowest / fastest: 1 is a fair share).

Run: ``python -m benchmarks.webcam_fps [--visitors 1 3] [--seconds 15] [--out artifacts/webcam_fps.json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facemask.config import REPO_DIR
from facemask.io import load_image

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TARGET_FPS = 10.0

COUNT_FRAMES_JS = """
() => {
  window.__frames = 0;
  let last = null;
  const tick = () => {
    const img = document.querySelector('#webcam-output img');
    if (img && img.src && img.src !== last) { last = img.src; window.__frames += 1; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""
"""Counts changes of the processed image's ``src`` (one per delivered frame), checked every animation frame."""


def write_clip(path: Path, frames: int = 60, width: int = 640, height: int = 480) -> Path:
    """A Y4M clip (Chromium's fake camera format) of one face (the bundled astronaut photo) drifting sideways."""
    face = cv2.resize(load_image(REPO_DIR / "tests" / "data" / "astronaut.jpg")[0:320, 60:380], (240, 240),
                      interpolation=cv2.INTER_AREA)
    with path.open("wb") as clip:
        clip.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            canvas = np.full((height, width, 3), 110, dtype=np.uint8)
            x = 200 + int(40 * np.sin(2 * np.pi * i / frames))
            canvas[120:360, x : x + 240] = face
            clip.write(b"FRAME\n" + cv2.cvtColor(canvas, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def start_streaming(page: Any, url: str) -> None:
    """Open the Live webcam tab, allow the camera, press Record and start counting delivered frames."""
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("tab", name="Live webcam").click()
    webcam = page.locator("#webcam-input")
    webcam.get_by_text("Click to Access Webcam").click()
    page.wait_for_function("() => { const v = document.querySelector('#webcam-input video'); return v && v.readyState >= 2; }")
    webcam.get_by_role("button", name="capture photo").click()
    page.locator("#webcam-output img").wait_for()
    page.evaluate(COUNT_FRAMES_JS)


def measure(browser: Any, url: str, visitors: int, seconds: float, warmup: float) -> dict[str, Any]:
    """Frames/s delivered to each of ``visitors`` pages streaming at once."""
    contexts, pages = [], []
    try:
        for _ in range(visitors):
            context = browser.new_context(viewport={"width": 1280, "height": 1000}, permissions=["camera"])
            context.set_default_timeout(120_000)
            contexts.append(context)
            pages.append(context.new_page())
        for page in pages:
            start_streaming(page, url)
        time.sleep(warmup)
        before = [page.evaluate("() => window.__frames") for page in pages]
        started = time.perf_counter()
        time.sleep(seconds)
        after = [page.evaluate("() => window.__frames") for page in pages]
        elapsed = time.perf_counter() - started
    finally:
        for context in contexts:
            context.close()
    fps = [round((b - a) / elapsed, 2) for a, b in zip(before, after)]
    return {
        "visitors": visitors,
        "fps_each": fps,
        "fps_mean": round(float(np.mean(fps)), 2),
        "fps_slowest": min(fps),
        "fairness": round(min(fps) / max(fps), 2) if max(fps) > 0 else 0.0,
        "seconds": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Start the app and a browser, measure each visitor count, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured window per visitor count")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--interval", type=float, nargs="*", default=[],
                        help="stream intervals (s) to compare; default: the app's own")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "artifacts" / "webcam_fps.json")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print("Debian's chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from tests.appserver import start_app, stop_app

    report: dict[str, Any] = {"runs": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        clip = write_clip(Path(tmp) / "face.y4m")
        camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  f"--use-file-for-fake-video-capture={clip}"]
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS + camera)
        try:
            for interval in args.interval or [None]:
                env = {"HF_HUB_OFFLINE": "1"}
                if interval is not None:
                    env["FACEMASK_WEBCAM_INTERVAL_S"] = str(interval)
                server = start_app(Path(tmp) / f"app-{interval}", env=env)
                try:
                    for visitors in args.visitors:
                        row = {"interval_s": interval or "app default",
                               **measure(browser, server.url, visitors, args.seconds, args.warmup)}
                        report["runs"].append(row)
                        print(f"interval {row['interval_s']}: {visitors} visitor(s): {row['fps_mean']:.1f} frames/s "
                              f"each on average, slowest {row['fps_slowest']:.1f}, fairness {row['fairness']:.2f} "
                              f"({row['fps_each']})", flush=True)
                finally:
                    stop_app(server)
        finally:
            browser.close()
    lone = [r for r in report["runs"] if r["visitors"] == 1]
    report["target"] = {"lone visitor frames/s": TARGET_FPS, "met": bool(lone) and all(r["fps_mean"] >= TARGET_FPS for r in lone)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if report["target"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
