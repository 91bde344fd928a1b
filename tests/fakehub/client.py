"""Run Hub client code (huggingface_hub, datasets, timm) in a subprocess pointed at a fake Hub.

The libraries read `HF_ENDPOINT`, `HF_HOME` and `HF_HUB_DISABLE_XET` at import time, so each client runs in its own
interpreter with its own cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Literal

from .server import HubHandle

_PRELUDE = """\
import json, os

def emit(value):
    \"\"\"Hand `value` (JSON-serialisable) back to the test.\"\"\"
    with open(os.environ["FAKEHUB_RESULT"], "w") as f:
        json.dump(value, f)

"""


def client_env(hub: HubHandle, hf_home: str | Path, token: str | None | Literal[True] = True) -> dict[str, str]:
    """Environment for a client of `hub`: no inherited HF settings, a private `HF_HOME`, Xet and telemetry off.

    `token=True` uses the hub's token, `None` runs anonymously, a string sends that token.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HOME=str(hf_home),
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_DATASETS_DISABLE_PROGRESS_BARS="1",
    )
    if token is not None:
        env["HF_TOKEN"] = hub.token if token is True else token
    return env


def run_client(
    hub: HubHandle,
    code: str,
    hf_home: str | Path,
    *,
    token: str | None | Literal[True] = True,
    cwd: str | Path | None = None,
    timeout: float = 120,
) -> Any:
    """Run `code` in a fresh interpreter; returns what it passed to `emit(...)` (None if nothing).

    Raises AssertionError with the client's output if it exits non-zero, `subprocess.TimeoutExpired` on timeout.
    """
    with tempfile.TemporaryDirectory(prefix="fakehub-client-") as tmp:
        result = Path(tmp) / "result.json"
        env = {**client_env(hub, hf_home, token), "FAKEHUB_RESULT": str(result)}
        proc = subprocess.run(
            [sys.executable, "-c", _PRELUDE + textwrap.dedent(code)],
            cwd=cwd or tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"client exited with {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return json.loads(result.read_text()) if result.exists() else None
