"""Deterministic train/val/test splits by song, so no passage of a test song is trained on."""

from __future__ import annotations

import json
import random
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from dmc.datasets.base import DatasetError


def split_ids(
    ids: Sequence[str], fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 42
) -> dict[str, list[str]]:
    """Shuffle sorted ids with ``seed`` and cut them into train/val/test.

    The result depends only on the set of ids, the fractions and the seed (not on the
    order the file system lists them). Val and test get at least one id each when there
    are three or more ids.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(
            f"fractions must be three non-negative numbers summing to 1, got {fractions}"
        )
    if len(set(ids)) != len(ids):
        raise ValueError("song ids must be unique")
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_val = round(n * fractions[1])
    n_test = round(n * fractions[2])
    if n >= 3:
        n_val, n_test = (
            max(n_val, 1 if fractions[1] > 0 else 0),
            max(n_test, 1 if fractions[2] > 0 else 0),
        )
    n_train = n - n_val - n_test
    return {
        "train": order[:n_train],
        "val": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }


SPLIT_NAMES = ("train", "val", "test")


def read_split_file(path: str | Path) -> dict[str, list[str]]:
    """Read a user-supplied split: which song ids belong to train, val and test.

    Two formats, so a split published elsewhere can be reused as is:

    - JSON: ``{"train": [ids...], "val": [...], "test": [...]}`` (a missing key is an
      empty split);
    - text/CSV: one ``split,id`` (or ``split id``) pair a line; blank lines and lines
      starting with ``#`` are ignored. The id may be a path (the automix-toolkit
      ``split.csv`` lists files); the loaders turn it into their own song id.

    Raises:
        DatasetError: the file is missing or unreadable, names an unknown split, or
            puts one id in two splits.
    """

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"cannot read split file {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"split file {path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise DatasetError(
                f"split file {path}: expected an object of id lists keyed by train/val/test"
            )
        pairs = [(str(name), str(entry)) for name, entries in data.items() for entry in entries]
    else:
        pairs = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = re.split(r"\s*,\s*|\s+", line, maxsplit=1)
            if len(parts) != 2 or not parts[1]:
                raise DatasetError(
                    f"split file {path}, line {number}: expected 'split,id', got {line!r}"
                )
            pairs.append((parts[0], parts[1]))
    out: dict[str, list[str]] = {name: [] for name in SPLIT_NAMES}
    seen: dict[str, str] = {}
    for name, entry in pairs:
        if name not in out:
            raise DatasetError(
                f"split file {path}: unknown split {name!r}; expected one of {', '.join(SPLIT_NAMES)}"
            )
        if entry in seen and seen[entry] != name:
            raise DatasetError(f"split file {path}: {entry!r} is in both {seen[entry]} and {name}")
        if entry not in seen:
            out[name].append(entry)
            seen[entry] = name
    return out


def choose_split(
    ids: Sequence[str],
    split: str,
    seed: int = 42,
    split_file: str | Path | None = None,
    normalize: Callable[[str], str] | None = None,
    dataset: str = "dataset",
) -> list[str]:
    """The ids of one split (``train``, ``val``, ``test`` or ``all``), sorted.

    Without ``split_file`` this is :func:`split_ids` with ``seed`` (80/10/10). With one,
    its assignment wins; ``normalize`` turns each of its entries into a song id.
    Entries that match no song found here and songs the file does not list are
    reported in one warning each (a partial download is common) and left out.

    Raises:
        DatasetError: unknown split name or a bad split file.
    """

    if split not in (*SPLIT_NAMES, "all"):
        raise DatasetError(
            f"unknown split {split!r}; choose one of {', '.join(SPLIT_NAMES)} or all"
        )
    if split_file is None:
        if split == "all":
            return sorted(ids)
        return sorted(split_ids(ids, seed=seed)[split])
    assigned = read_split_file(split_file)
    normalize = normalize or (lambda entry: entry)
    known = set(ids)
    listed = {name: {normalize(e) for e in entries} for name, entries in assigned.items()}
    everything = set().union(*listed.values())
    unknown = sorted(everything - known)
    if unknown:
        warnings.warn(
            f"{dataset}: {len(unknown)} id(s) in split file {split_file} match no song found here "
            f"(first: {', '.join(unknown[:5])})",
            stacklevel=3,
        )
    unlisted = sorted(known - everything)
    if unlisted:
        warnings.warn(
            f"{dataset}: {len(unlisted)} song(s) are not in split file {split_file} and belong to "
            f"no split (first: {', '.join(unlisted[:5])})",
            stacklevel=3,
        )
    chosen = everything if split == "all" else listed[split]
    return sorted(chosen & known)
