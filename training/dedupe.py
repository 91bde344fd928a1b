"""Exact and near-duplicate detection with perceptual hashes, grouped with union-find."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import imagehash
import numpy as np
from PIL import Image


def phash(image: np.ndarray) -> int:
    """64-bit perceptual hash of an RGB uint8 image, as an int."""
    bits = imagehash.phash(Image.fromarray(image)).hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def file_digest(path: Path) -> str:
    """SHA-1 of a file's bytes (exact duplicates)."""
    return hashlib.sha1(path.read_bytes()).hexdigest()


class UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[int]:
        """Group id (the smallest member) of every element."""
        return [self.find(i) for i in range(len(self.parent))]


def hamming_pairs(hashes: Sequence[int], max_distance: int) -> list[tuple[int, int, int]]:
    """All pairs ``(i, j, distance)`` with ``i < j`` whose 64-bit hashes differ in at most ``max_distance`` bits."""
    if len(hashes) < 2:
        return []
    values = np.array(hashes, dtype=np.uint64)
    pairs = []
    for i in range(len(values) - 1):
        distances = np.bitwise_count(values[i + 1 :] ^ values[i])
        for offset in np.flatnonzero(distances <= max_distance):
            pairs.append((i, i + 1 + int(offset), int(distances[offset])))
    return pairs


def near_duplicate_groups(hashes: Sequence[int], max_distance: int, links: Sequence[tuple[int, int]] = ()) -> list[int]:
    """Group id per item: items linked by a hash distance <= ``max_distance`` (or by ``links``) share one."""
    sets = UnionFind(len(hashes))
    for i, j, _ in hamming_pairs(hashes, max_distance):
        sets.union(i, j)
    for i, j in links:
        sets.union(i, j)
    return sets.groups()


def identical_items(hashes: Sequence[int], labels: Sequence[str]) -> list[int]:
    """Indices to drop: items whose hash and label equal an earlier item's (pixel-level duplicates)."""
    seen: set[tuple[int, str]] = set()
    drop = []
    for i, key in enumerate(zip(hashes, labels)):
        if key in seen:
            drop.append(i)
        seen.add(key)
    return drop
