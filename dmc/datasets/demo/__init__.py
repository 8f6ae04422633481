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

from dmc.datasets import DatasetError
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

__all__ = ["GENERATOR_VERSION", "SPLITS", "SPLIT_SIZES", "TASKS", "generate_song", "load_demo", "song_id"]


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
    if task not in TASKS:
        raise DatasetError(f"unknown demo task {task!r}; choose one of {', '.join(TASKS)}")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    size = SPLIT_SIZES[task][split]
    if num_songs is None:
        num_songs = size
    if isinstance(num_songs, bool) or not isinstance(num_songs, int) or not 1 <= num_songs <= size:
        raise DatasetError(f"num_songs must be an integer from 1 to {size} for demo {task}/{split}, got {num_songs!r}")
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise DatasetError(f"workers must be a non-negative integer, got {workers!r}")
    root = cache.demo_root(cache_dir)
    try:
        (root / task / split).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create the demo cache folder {root / task / split}: {exc}") from None
    if not os.access(root / task / split, os.W_OK):
        raise DatasetError(f"demo cache folder {root / task / split} is not writable (set DMC_CACHE_DIR)")
    indices = range(num_songs)
    missing = [i for i in indices if not cache.is_cached(cache.song_dir(root, task, split, i))]
    if missing:
        _generate(task, split, missing, root, workers)
    return [cache.load(cache.song_dir(root, task, split, i)) for i in indices]


def _generate(task: str, split: str, indices: list[int], root: Path, workers: int) -> None:
    progress = tqdm(total=len(indices), desc=f"demo {task}/{split}", unit="song")
    jobs = [(task, split, i, str(root)) for i in indices]
    try:
        if workers <= 1 or len(indices) == 1 or not _can_spawn():
            for job in jobs:
                cache.generate_and_store(*job)
                progress.update()
        else:
            # spawn, not fork: the parent may hold threads (torch, a web server).
            context = multiprocessing.get_context("spawn")
            with context.Pool(min(workers, len(indices))) as pool:
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
