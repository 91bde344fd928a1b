"""Start the real app (``python app/app.py``) on a free port for the app and browser tests.

Use from a test module: ``from tests.appserver import running_app`` and
``yield from running_app(tmp_path_factory.mktemp("app"))`` inside a module-scoped fixture.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app" / "app.py"
START_TIMEOUT_S = 180


@dataclass
class AppServer:
    """A running app: its URL, process, Gradio cache folder and log file."""

    url: str
    process: subprocess.Popen
    cache_dir: Path
    log_path: Path

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(
    workdir: Path, app_file: Path = APP, cwd: Path = REPO, env: dict[str, str] | None = None
) -> AppServer:
    """Launch ``app_file`` (from ``cwd``) in a subprocess and wait until it answers HTTP."""
    port = free_port()
    cache_dir = workdir / "gradio-cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "server.log"
    full_env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_TEMP_DIR": str(cache_dir),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(app_file)], cwd=cwd, env=full_env, stdout=log,
                                   stderr=subprocess.STDOUT)
    server = AppServer(f"http://127.0.0.1:{port}/", process, cache_dir, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with status {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "gradio_api/info", timeout=5) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    stop_app(server)
    raise RuntimeError(f"the app did not answer within {START_TIMEOUT_S} s:\n{server.log()}")


def stop_app(server: AppServer) -> None:
    """Stop the server process (politely, then firmly)."""
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def running_app(workdir: Path, **kwargs: object) -> Iterator[AppServer]:
    """Generator for a pytest fixture: start the app, yield it, stop it."""
    server = start_app(workdir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        stop_app(server)
