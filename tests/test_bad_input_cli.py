"""``python -m facemask detect|classify`` on the whole bad-input corpus in one run.

Each file gives one JSON line (a result or ``{"path", "error"}``), never a traceback; the run ends
in time and its peak memory stays far below what decoding the 20000 x 20000 "bomb" would take.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.badinputs import Case, write_corpus

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 240
MAX_RSS_MB = 1000
"""Peak resident memory allowed for a CLI run; decoding the PNG bomb alone would need 1200 MB."""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_mb: float


def run_measured(args: list[str], timeout: float = TIMEOUT_S) -> Run:
    """Run a command; its exit status, output and peak resident memory (killed after ``timeout``)."""
    with open(os.devnull, "rb") as stdin:
        process = subprocess.Popen(
            args, cwd=REPO, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    output: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda: output.__setitem__("out", process.stdout.read())),
        threading.Thread(target=lambda: output.__setitem__("err", process.stderr.read())),
    ]
    for reader in readers:
        reader.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)  # the rusage of this child alone
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    assert process.returncode != -9, f"{args} did not finish within {timeout} s"
    return Run(process.returncode, output["out"], output["err"], usage.ru_maxrss / 1024)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Case]:
    return write_corpus(tmp_path_factory.mktemp("badinputs"))


def _lines(run: Run) -> dict[str, dict]:
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    by_name = {Path(line["path"]).stem: line for line in lines}
    assert len(by_name) == len(lines)
    return by_name


def test_detect_answers_every_file_with_a_result_or_a_clear_error(corpus, tmp_path):
    folder = corpus[0].path.parent
    run = run_measured([sys.executable, "-m", "facemask", "detect", "--out", str(tmp_path), str(folder)])
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1  # some inputs failed, and the run still went through all of them
    lines = _lines(run)
    assert set(lines) == {case.name for case in corpus}
    for case in corpus:
        line = lines[case.name]
        if case.ok:
            assert "error" not in line, (case.name, line)
            assert (line["width"], line["height"]) == case.size, case.name
            if case.faces is not None:
                assert len(line["faces"]) == case.faces, case.name
            assert len(line["faces"]) >= case.min_faces, case.name
            assert len(list(tmp_path.glob(f"{case.name}.*"))) == 1, case.name
        else:
            assert set(line) == {"path", "error"}, case.name
            assert case.error in line["error"].lower(), (case.name, line["error"])
            assert not list(tmp_path.glob(f"{case.name}.*")), case.name
    assert run.peak_mb < MAX_RSS_MB, f"peak memory {run.peak_mb:.0f} MB"


def test_detect_names_the_pixel_limit_for_a_bomb(corpus):
    bomb = next(c.path for c in corpus if c.name == "bomb_20000x20000")
    run = run_measured([sys.executable, "-m", "facemask", "detect", str(bomb)])
    assert run.returncode == 1 and "Traceback" not in run.stderr
    error = json.loads(run.stdout)["error"]
    assert "20000x20000" in error and "the limit is 40 megapixels" in error
    assert run.peak_mb < MAX_RSS_MB


def test_classify_answers_every_file_with_a_result_or_a_clear_error(corpus):
    folder = corpus[0].path.parent
    run = run_measured([sys.executable, "-m", "facemask", "classify", str(folder)])
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1
    lines = _lines(run)
    for case in corpus:
        line = lines[case.name]
        if case.ok:
            assert line["label"] in ("with_mask", "without_mask", "incorrect_mask"), case.name
            assert sum(line["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        else:
            assert set(line) == {"path", "error"} and case.error in line["error"].lower(), case.name
    assert run.peak_mb < MAX_RSS_MB


def test_a_missing_file_is_reported_and_the_others_still_run(corpus, tmp_path):
    good = next(c.path for c in corpus if c.name == "exif_orientation_6")
    run = run_measured([sys.executable, "-m", "facemask", "detect", str(tmp_path / "gone.jpg"), str(good)])
    first, second = (json.loads(line) for line in run.stdout.splitlines())
    assert "no such file" in first["error"] and len(second["faces"]) == 1
    assert run.returncode == 1 and "Traceback" not in run.stderr
