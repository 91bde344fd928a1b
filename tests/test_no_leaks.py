"""After a session of requests against a real app server, nothing of the uploads is left behind.

* No uploaded photo or frame, and no processed copy of one, is written outside Gradio's cache:
  the repo, ``/tmp`` (minus the server's own folder, which holds Gradio's cache) and ``$HOME`` are
  searched for files made during the session that carry an upload's name, its bytes, or an image
  of an upload's (odd) size. Files are found by folder: a new file, or one replaced by renaming,
  changes its folder's time, so only changed folders are listed.
* Gradio's cache is emptied of uploads and results by the app's ``delete_cache`` schedule (run here
  with a 1 s / 8 s schedule instead of the app's minutes), and at once when the server is stopped
  with SIGTERM (``docker stop``, a Space restart).
* The server's log (stdout and stderr) holds nothing about faces: no labels, boxes or file names.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image

from tests.appserver import REPO, AppServer, running_app, stop_app
from tests.badinputs import portrait

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

TOKEN = f"leakcheck{uuid.uuid4().hex[:10]}"
PHOTO_SIZE = (517, 389)
FRAME_SIZE = (321, 241)
"""Odd sizes that no other test uses, so a re-encoded copy of an upload is recognised."""
CLEANUP = (1, 8)
"""``delete_cache`` for the test server: every second, delete files older than 8 s."""
SKIP_DIRS = {".git", "proc", "sys"}

LAUNCHER = """
import sys
sys.path.insert(0, {app_dir!r})
import app
app.CACHE_CLEANUP = {cleanup!r}
app.main()
"""


def _canvas(size: tuple[int, int], seed: int) -> np.ndarray:
    """The portrait on a noisy background of ``size`` (so each upload has its own bytes)."""
    width, height = size
    noise = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    face = portrait()[40:300, 40:340]
    scale = min(width / face.shape[1], height / face.shape[0], 1.0)
    face = np.asarray(Image.fromarray(face).resize((int(face.shape[1] * scale), int(face.shape[0] * scale))))
    noise[: face.shape[0], : face.shape[1]] = face
    return noise


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("uploads")
    paths = [folder / f"{TOKEN}-photo.jpg"]
    Image.fromarray(_canvas(PHOTO_SIZE, 0)).save(paths[0], quality=90)
    for n in range(4):
        path = folder / f"{TOKEN}-frame{n}.jpg"
        Image.fromarray(_canvas(FRAME_SIZE, n + 1)).save(path, quality=80)
        paths.append(path)
    bad = folder / f"{TOKEN}-notes.jpg"
    bad.write_bytes(b"not a photo " * 50)
    return paths + [bad]


@pytest.fixture(scope="module")
def session(tmp_path_factory, uploads) -> Iterator[tuple[AppServer, float, Path]]:
    """Start the server, run a session of requests, and yield (server, session start, client folder)."""
    workdir = tmp_path_factory.mktemp("leakserver")
    launcher = workdir / "launch_app.py"
    launcher.write_text(LAUNCHER.format(app_dir=str(REPO / "app"), cleanup=CLEANUP))
    started = time.time()
    downloads = workdir / "client-downloads"
    for server in running_app(workdir, app_file=launcher, env={"HF_HUB_OFFLINE": "1"}):
        client = Client(server.url, verbose=False, download_files=str(downloads))
        photo, *frames, bad = uploads
        for options in ({}, {"blur_mode": "face"}, {"threshold": 0.5}):
            _, results = client.predict(handle_file(str(photo)), api_name="/detect", **options)
            assert len(results["faces"]) == 1
        for frame in frames:
            _, results = client.predict(handle_file(str(frame)), api_name="/detect")
            assert results["width"] == FRAME_SIZE[0]
        with pytest.raises(AppError):
            client.predict(handle_file(str(bad)), api_name="/detect")
        yield server, started, workdir


def _changed_files(roots: list[Path], since: float, skip: list[Path]) -> Iterator[Path]:
    """Files under ``roots`` in folders changed since ``since`` whose own time is after it too."""
    skip_set = {p.resolve() for p in skip}
    stack = [r for r in roots if r.is_dir()]
    while stack:
        folder = stack.pop()
        if folder.resolve() in skip_set:
            continue
        try:
            entries = list(os.scandir(folder))
            changed = folder.stat().st_mtime >= since
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS:
                        stack.append(Path(entry.path))
                elif changed and entry.is_file(follow_symlinks=False):
                    stat = entry.stat(follow_symlinks=False)
                    if max(stat.st_mtime, stat.st_ctime) >= since:
                        yield Path(entry.path)
            except OSError:
                continue


def _image_size(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as image:
            return image.size
    except Exception:  # not an image, unreadable, gone: not a copy of an upload
        return None


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def test_no_upload_or_frame_is_written_outside_gradios_cache(session, uploads):
    server, started, workdir = session
    upload_digests = {_digest(p) for p in uploads}
    upload_bytes = {p.stat().st_size for p in uploads}
    roots = [REPO, Path("/tmp"), Path.home()]
    leaks = []
    for path in _changed_files(roots, started - 1, skip=[workdir, uploads[0].parent]):
        same_bytes = path.stat().st_size in upload_bytes and _digest(path) in upload_digests
        if TOKEN in str(path) or same_bytes or _image_size(path) in (PHOTO_SIZE, FRAME_SIZE):
            leaks.append(str(path))
    assert leaks == []


def test_the_search_finds_a_copy_made_during_the_session(session, uploads, tmp_path_factory):
    _, started, workdir = session
    planted = tmp_path_factory.mktemp("planted") / "innocent-name.png"
    Image.open(uploads[1]).save(planted)  # a re-encoded frame under another name
    found = list(_changed_files([Path("/tmp")], started - 1, skip=[workdir]))
    assert planted in found and _image_size(planted) == FRAME_SIZE


def _cached_copies(cache_dir: Path) -> list[Path]:
    return [p for p in cache_dir.rglob("*") if p.is_file() and (TOKEN in p.name or _image_size(p) in (PHOTO_SIZE, FRAME_SIZE))]


def test_gradios_cache_is_emptied_of_uploads_and_results_on_schedule(session):
    server, _, _ = session
    deadline = time.monotonic() + 8 * sum(CLEANUP)
    while _cached_copies(server.cache_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _cached_copies(server.cache_dir) == []


def test_the_app_cleans_its_cache_within_minutes():
    import ast

    tree = ast.parse((REPO / "app" / "app.py").read_text())
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "CACHE_CLEANUP"
    }
    frequency, age = values["CACHE_CLEANUP"]
    assert 0 < frequency <= 600 and 0 < age <= 3600
    assert "delete_cache=CACHE_CLEANUP" in (REPO / "app" / "app.py").read_text()


def test_server_log_says_nothing_about_faces_or_files(session):
    server, _, _ = session
    log = server.log()
    assert "Running on" in log  # the log is really being captured
    lowered = log.lower()
    for word in (TOKEN.lower(), "photo.jpg", "frame0", "with_mask", "without_mask", "incorrect_mask", "landmarks",
                 "box", "face #", "faces:", "traceback"):
        assert word not in lowered, word


def test_stopping_the_server_deletes_uploads_and_results_at_once(session, uploads):
    """Runs last: it stops the module's server."""
    server, _, workdir = session
    client = Client(server.url, verbose=False, download_files=str(workdir / "client-downloads"))
    client.predict(handle_file(str(uploads[0])), api_name="/detect")
    assert _cached_copies(server.cache_dir) != []  # younger than the schedule's age: still there
    stop_app(server)  # SIGTERM
    assert server.process.returncode == 0
    assert _cached_copies(server.cache_dir) == []
