"""Where finishing jobs run: worker processes beside the mixing process, or in it.

Mixing needs the models, loaded once in the main process; normalising, encoding,
decoding and scoring a mix needs none of them and is as slow as the mixing itself, so
it goes to worker processes and overlaps with the mixing of the next passage. A small
render runs everything in-process: starting workers (each imports torch) costs more
than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor

import torch

from dmc.cli import note

#: Renders with at most this many conditions to render run without worker processes.
IN_PROCESS_UP_TO = 12


class InProcess(Executor):
    """Runs each job at once in this process, with the Executor interface of a pool."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 (handed to whoever reads the future, as a pool does)
            future.set_exception(exc)
        return future


def default_workers(conditions: int) -> int:
    """Worker processes for rendering ``conditions``: none for a few, else one per core, at most 4.

    Each worker runs one torch thread; the caller gives the mixing process the remaining
    cores (at least one), so no thread spins waiting for a busy core.
    """
    if conditions <= IN_PROCESS_UP_TO:
        return 0
    return max(1, min(4, os.cpu_count() or 1))


def succeeded(future: Future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def init_worker() -> None:
    """Worker processes share the cores with the main process: one thread each."""
    torch.set_num_threads(1)


def make_pool(workers: int) -> Executor:
    """``workers`` processes, or :class:`InProcess` for 0."""
    if workers <= 0:
        return InProcess()
    # spawn, not fork: the main process holds torch's thread pools, which do not survive a fork
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker
    )


def apply_smoke_caps(args, passages: int, seconds: float) -> None:
    """``DMC_SMOKE=1`` for a render: at most ``passages`` passages of ``seconds``, no workers.

    A count above the cap (or none) becomes the cap; a choice by label is kept. Says
    what it changed, in one note line.
    """
    capped = []
    count = args.passages.strip() if args.passages is not None else None
    if count is None or (count.isdigit() and int(count) > passages):
        args.passages = str(passages)
        capped.append(f"--passages {passages}")
    if args.seconds > seconds:
        args.seconds = seconds
        capped.append(f"--seconds {seconds:g}")
    if args.workers is None:  # starting worker processes would cost more than they save
        args.workers = 0
        capped.append("--workers 0")
    if capped:
        note("dmc.render", f"DMC_SMOKE is set: a smoke render ({', '.join(capped)})")
