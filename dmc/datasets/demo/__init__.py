"""The embedded demo multitracks: everything runs without downloading a dataset.

Two tasks mirror the paper's: ``drums`` (8 channels like ENST-Drums' basic mixing task:
kick, snare, hihat, tom_1-3, overhead_L/R; target mixed with gain and pan) and ``full``
(6-10 tracks of a band like MedleyDB; target mixed with gain, pan, EQ, compression and
reverb). Songs are rendered from real recorded samples shipped in ``assets/`` (see
``assets/LICENSES.md``) by a deterministic generator, mixed by a documented reference
engineer (:mod:`dmc.datasets.demo.engineer`), and cached as FLAC on first use.
``docs/demo-data.md`` describes the data, the policy and the numbers.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

from tqdm import tqdm

from dmc.datasets.base import DatasetError
from dmc.datasets.demo import cache
from dmc.datasets.demo.songs import (
    GENERATOR_VERSION,
    SPLIT_SIZES,
    SPLITS,
    TASKS,
    generate_song,
    song_id,
)
from dmc.multitrack import Song

__all__ = [
    "GENERATOR_VERSION",
    "SPLITS",
    "SPLIT_SIZES",
    "TASKS",
    "generate_song",
    "load_demo",
    "prepare_demo",
    "song_id",
]


def load_demo(
    task: str,
    split: str,
    cache_dir: str | os.PathLike | None = None,
    num_songs: int | None = None,
    workers: int | None = None,
) -> list[Song]:
    """The songs of one demo split, generated and cached on first use.

    Args:
        task: ``drums`` or ``full``.
        split: ``train``, ``val`` or ``test`` (sizes in :data:`SPLIT_SIZES`; the test
            split has its own fixed seeds).
        cache_dir: where the cache lives; default ``$DMC_CACHE_DIR`` or ``~/.cache/dmc``.
            Songs go under ``<cache_dir>/demo-v<version>/<task>/<split>/``.
        num_songs: only the first ``num_songs`` songs of the split (the same songs every
            time); default all.
        workers: processes generating missing songs; default ``min(2, CPU count)``;
            0 or 1 generates in this process.

    Returns:
        Songs whose tracks and stereo target point at cached FLAC files.

    Raises:
        DatasetError: an unknown task or split, a bad ``num_songs`` or ``workers``, or a
            cache folder that cannot be written.
    """
    size = SPLIT_SIZES.get(task, {}).get(split, 0)
    if num_songs is None:
        num_songs = size
    root = _writable_root(task, split, cache_dir)
    if isinstance(num_songs, bool) or not isinstance(num_songs, int) or not 1 <= num_songs <= size:
        raise DatasetError(
            f"num_songs must be an integer from 1 to {size} for demo {task}/{split}, got {num_songs!r}"
        )
    workers = _check_workers(workers)
    indices = range(num_songs)
    missing = [
        (task, split, i)
        for i in indices
        if not cache.is_cached(cache.song_dir(root, task, split, i))
    ]
    if missing:
        _generate(missing, root, workers, f"demo {task}/{split}")
    return [cache.load(cache.song_dir(root, task, split, i)) for i in indices]


def prepare_demo(
    cache_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    tasks: tuple[str, ...] = TASKS,
    splits: tuple[str, ...] = SPLITS,
) -> int:
    """Generate every missing song of the given tasks and splits in one pool; returns how many.

    One call instead of one :func:`load_demo` per split starts the workers once, which is
    how the whole dataset is best made ahead of training.
    """
    workers = _check_workers(workers)
    root = cache.demo_root(cache_dir)
    for task in tasks:
        for split in splits:
            _writable_root(task, split, cache_dir)
    missing = [
        (task, split, i)
        for task in tasks
        for split in splits
        for i in range(SPLIT_SIZES[task][split])
        if not cache.is_cached(cache.song_dir(root, task, split, i))
    ]
    if missing:
        _generate(missing, root, workers, "demo dataset")
    return len(missing)


def _writable_root(task: str, split: str, cache_dir) -> Path:
    """Validate task and split, create their cache folder, and return the cache root."""
    if task not in TASKS:
        raise DatasetError(f"unknown demo task {task!r}; choose one of {', '.join(TASKS)}")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    root = cache.demo_root(cache_dir)
    folder = root / task / split
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create the demo cache folder {folder}: {exc}") from None
    if not os.access(folder, os.W_OK):
        raise DatasetError(f"demo cache folder {folder} is not writable (set DMC_CACHE_DIR)")
    return root


def _check_workers(workers) -> int:
    if workers is None:
        return min(2, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise DatasetError(f"workers must be a non-negative integer, got {workers!r}")
    return workers


def _generate(songs: list[tuple[str, str, int]], root: Path, workers: int, label: str) -> None:
    progress = tqdm(total=len(songs), desc=label, unit="song")
    # Band songs take about three times as long as drum songs: start them first.
    jobs = sorted(
        ((task, split, i, str(root)) for task, split, i in songs), key=lambda job: job[0] != "full"
    )
    try:
        # Starting a worker costs about as much as a song or two: small batches stay here.
        if workers <= 1 or len(jobs) < 4 or not _can_spawn():
            for job in jobs:
                cache.generate_and_store(*job)
                progress.update()
        else:
            # spawn, not fork: the parent may hold threads (torch, a web server).
            context = multiprocessing.get_context("spawn")
            with context.Pool(min(workers, len(jobs))) as pool:
                for _ in pool.imap_unordered(_run_job, jobs):
                    progress.update()
    finally:
        progress.close()


def _can_spawn() -> bool:
    """Spawned workers re-import the main script; a script read from stdin cannot be."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or Path(main_file).is_file()


def _run_job(job: tuple[str, str, int, str]) -> str:
    return cache.generate_and_store(*job)
