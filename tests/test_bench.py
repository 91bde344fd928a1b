"""The benchmark's smoke run (``--quick``) produces every figure; no timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from facemask.config import REPO_DIR

STATS = {"median_ms", "p95_ms", "mean_ms", "min_ms", "runs"}


def _is_stats(value: object) -> bool:
    return isinstance(value, dict) and STATS <= set(value) and value["runs"] > 0 and value["median_ms"] > 0


def test_quick_benchmark_writes_every_figure(tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--quick", "--out", str(out)],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "targets:" in done.stdout
    r = json.loads(out.read_text())

    machine = r["machine"]
    assert machine["cores"] >= 1 and machine["cpu_model"] and machine["onnxruntime"] and machine["torch"]
    assert set(r["threads"]) >= {"onnxruntime_intra_op", "opencv", "torch"}
    assert r["images"]["faces_detected"] == {"1_face": 1, "4_faces": 4, "16_faces": 16}

    assert all(_is_stats(r["classification"][k]) for k in ("batch1_per_crop", "batch8_per_crop"))
    assert r["classification_by_input_size"]
    for figures in r["classification_by_input_size"].values():
        assert _is_stats(figures["batch1_per_crop"]) and _is_stats(figures["batch8_per_crop"])
    assert r["detector"] in r["detection"] and "yuface" in r["detection"]
    for sizes in r["detection"].values():
        assert set(sizes) == {"640x480", "1280x720"} and all(_is_stats(s) for s in sizes.values())
    for section in ("end_to_end", "in_memory"):
        assert set(r[section]) == {"1_face", "4_faces", "16_faces"}
        assert all(_is_stats(s) for s in r[section].values())
    assert r["webcam"]["path"] and r["webcam"]["1_face"]["fps"] > 0 and r["webcam"]["4_faces"]["fps"] > 0

    assert r["memory"]["app"]["peak_rss_mib"] > 0 and r["memory"]["baseline"]["peak_rss_mib"] > 0
    assert r["memory"]["app"]["torch_imported"] is False or r["classification"]["runtime"] == "torch"

    base = r["baseline"]
    assert _is_stats(base["classification_224"]) and _is_stats(base["classification_224_batch8_per_image"])
    assert set(base["end_to_end"]) == {"1_face", "4_faces", "16_faces"} and base["webcam"]["fps"] > 0
    assert all(v > 0 for v in r["ratios"].values()) and len(r["ratios"]) == 6
    assert len(r["targets"]) == 7 and all(isinstance(t["met"], bool) for t in r["targets"])
