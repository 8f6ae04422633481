"""Deterministic train/val/test splits by song, so no passage of a test song is trained on."""

from __future__ import annotations

import random
from typing import Sequence


def split_ids(
    ids: Sequence[str], fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 42
) -> dict[str, list[str]]:
    """Shuffle sorted ids with ``seed`` and cut them into train/val/test.

    The result depends only on the set of ids, the fractions and the seed (not on the
    order the file system lists them). Val and test get at least one id each when there
    are three or more ids.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    if len(set(ids)) != len(ids):
        raise ValueError("song ids must be unique")
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_val = round(n * fractions[1])
    n_test = round(n * fractions[2])
    if n >= 3:
        n_val, n_test = max(n_val, 1 if fractions[1] > 0 else 0), max(n_test, 1 if fractions[2] > 0 else 0)
    n_train = n - n_val - n_test
    return {
        "train": order[:n_train],
        "val": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }
