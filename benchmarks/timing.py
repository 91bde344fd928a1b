"""Latency statistics: warm up, then time a callable many times."""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np


def summarize(seconds: list[float]) -> dict[str, Any]:
    """Median, p95, mean and min in milliseconds, plus the number of runs."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    return {
        "median_ms": round(float(np.median(ms)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "min_ms": round(float(ms.min()), 3),
        "runs": int(ms.size),
    }


def measure(fn: Callable[[int], object], runs: int, warmup: int = 10) -> dict[str, Any]:
    """Time ``fn(i)`` for ``runs`` iterations after ``warmup`` untimed ones."""
    for i in range(warmup):
        fn(i)
    seconds = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        seconds.append(time.perf_counter() - start)
    return summarize(seconds)


def per_item(stats: dict[str, Any], items: int) -> dict[str, Any]:
    """``stats`` of a batch divided by its size (latency per item)."""
    out = dict(stats)
    for key in ("median_ms", "p95_ms", "mean_ms", "min_ms"):
        out[key] = round(stats[key] / items, 3)
    return out


def throughput(fn: Callable[[int], object], seconds: float, warmup: int = 5) -> dict[str, Any]:
    """Frames per second ``fn(i)`` sustains when called back to back for about ``seconds``."""
    for i in range(warmup):
        fn(i)
    count = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn(count)
        count += 1
    elapsed = time.perf_counter() - start
    return {"fps": round(count / elapsed, 2), "frames": count, "seconds": round(elapsed, 2)}
