"""Stratified train / validation / test split of groups (a group never spans two splits)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Hashable, Sequence

SPLITS = ("train", "validation", "test")


def group_split(
    groups: Sequence[Hashable],
    labels: Sequence[str],
    strata: Sequence[str],
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 42,
) -> list[str]:
    """The split name of every item.

    Items sharing a group id go to one split. Within each stratum (e.g. a data source) groups are
    visited in a seeded random order, rarest classes first, and each goes to the split whose
    counts of the group's rarest class lag furthest behind their target share.
    """
    if abs(sum(fractions) - 1.0) > 1e-6 or len(fractions) != len(SPLITS):
        raise ValueError("fractions must be three numbers summing to 1")
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    rng = random.Random(seed)
    result = [""] * len(groups)
    by_stratum: dict[str, list[Hashable]] = defaultdict(list)
    for g, items in members.items():
        by_stratum[strata[items[0]]].append(g)
    for stratum in sorted(by_stratum):
        keys = sorted(by_stratum[stratum], key=str)
        rng.shuffle(keys)
        totals = Counter(labels[i] for g in keys for i in members[g])
        # rarest class of each group decides where it goes; groups with rare classes are placed first
        rarest = {g: min((labels[i] for i in members[g]), key=lambda c: (totals[c], c)) for g in keys}
        keys.sort(key=lambda g: totals[rarest[g]])
        have = {s: Counter() for s in SPLITS}
        for g in keys:
            counts = Counter(labels[i] for i in members[g])
            cls = rarest[g]
            deficit = [fractions[k] * totals[cls] - have[s][cls] for k, s in enumerate(SPLITS)]
            target = SPLITS[max(range(len(SPLITS)), key=lambda k: (deficit[k] / fractions[k], -k))]
            have[target].update(counts)
            for i in members[g]:
                result[i] = target
    return result
