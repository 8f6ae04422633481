"""Multitrack datasets behind one call: ``load_songs(data, task, split, root)``.

- ``demo``: the embedded demo multitracks (generated from shipped samples, cached).
- ``enst``: ENST-Drums read from its published layout (drums task).
- ``medleydb``: MedleyDB read from its published layout (full task).
- ``folder``: your own multitracks, one subfolder per song with tracks named by role and
  an optional reference mix (:mod:`dmc.datasets.folder`; both tasks).

and clean single sources behind ``load_sources(data, split, root)``, for the
transformation network (its pre-training and the emulation table):

- ``signaltrain``: the clean inputs of SignalTrain LA2A, read from its published layout.

Every loader returns :class:`dmc.multitrack.Song` objects whose tracks point at files,
so listing a dataset reads no audio.
"""

from __future__ import annotations

from pathlib import Path

from dmc.datasets.base import SPLITS, DatasetError
from dmc.multitrack import Song

__all__ = ["DATASETS", "SOURCE_DATASETS", "SPLITS", "DatasetError", "load_songs", "load_sources"]

DATASETS = ("demo", "enst", "medleydb", "folder")
#: Datasets of clean single sources, not multitracks: only :func:`load_sources` reads them.
SOURCE_DATASETS = ("signaltrain",)


def load_songs(
    data: str, task: str, split: str, root: str | Path | None = None, **options
) -> list[Song]:
    """Songs of one split of a dataset for a task (``drums`` or ``full``).

    Raises:
        DatasetError: unknown dataset/split, a dataset that does not fit the task, or a
            wrong ``root``.
    """
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if task not in ("drums", "full"):
        raise DatasetError(f"unknown task {task!r}; choose drums or full")
    if data in SOURCE_DATASETS:
        raise DatasetError(
            f"--data {data} holds clean single sources, not multitracks: it serves "
            "`python -m dmc.train transform` and `python -m dmc.render transform` only"
        )
    if data == "demo":
        from dmc.datasets.demo import load_demo

        return load_demo(task, split, **options)
    if data in ("enst", "medleydb", "folder") and root is None:
        raise DatasetError(f"--data {data} needs --root PATH pointing at the dataset folder")
    if data == "enst":
        if task != "drums":
            raise DatasetError("ENST-Drums holds drum multitracks only: use --task drums")
        from dmc.datasets.enst import load_enst

        return load_enst(root, split, **options)
    if data == "medleydb":
        if task != "full":
            raise DatasetError("MedleyDB holds full-band multitracks only: use --task full")
        from dmc.datasets.medleydb import load_medleydb

        return load_medleydb(root, split, **options)
    if data == "folder":
        from dmc.datasets.folder import load_folder

        return load_folder(root, task, split, **options)
    raise DatasetError(f"unknown dataset {data!r}; choose one of {', '.join(DATASETS)}")


def load_sources(data: str, split: str, root: str | Path | None = None, **options) -> list[Song]:
    """Clean single sources of one split, one single-track song each (no target mix).

    Raises:
        DatasetError: unknown source dataset or split, a missing or wrong ``root``.
    """
    if data not in SOURCE_DATASETS:
        raise DatasetError(
            f"unknown source dataset {data!r}; choose one of {', '.join(SOURCE_DATASETS)}"
        )
    if root is None:
        raise DatasetError(f"--data {data} needs --root PATH pointing at the dataset folder")
    from dmc.datasets.signaltrain import load_signaltrain

    return load_signaltrain(root, split, **options)
