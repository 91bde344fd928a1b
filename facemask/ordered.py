"""Work on a stream of items a few at a time, results in input order (the CLI's folders, video frames)."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

from .model import onnx_threads

Item = TypeVar("Item")
Result = TypeVar("Result")


def worker_count(requested: int | None) -> int:
    """``requested`` threads, or one per core this process may use when it is 0 or ``None``."""
    return max(requested or onnx_threads(), 1)


def threads_per_worker(workers: int) -> int:
    """ONNX Runtime intra-op threads for each of ``workers`` concurrent jobs: the cores shared out, at least one."""
    return max(onnx_threads() // max(workers, 1), 1)


def map_in_order(fn: Callable[[Item], Result], items: Iterable[Item], workers: int, name: str = "facemask") -> Iterator[Result]:
    """``fn(item)`` for every item, in input order, with up to ``workers`` running at once on threads.

    Items are drawn from ``items`` only as results are taken, so at most ``2 x workers`` are in flight and memory
    stays bounded however long the stream. Worth it where ``fn`` releases the GIL (ONNX Runtime, OpenCV, image
    codecs). An exception from ``fn`` or ``items`` reaches the caller; items still queued are then dropped.
    """
    pool = ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix=name)
    pending: deque[Future[Result]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * max(workers, 1):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
