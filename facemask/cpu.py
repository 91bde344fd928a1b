"""How many cores this process may use (the thread count of every inference engine)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores in this process's CPU affinity mask (a container's share), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)
