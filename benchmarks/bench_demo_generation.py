"""Benchmark: generating the whole demo dataset (both tasks, all splits) into a fresh cache.

    python benchmarks/bench_demo_generation.py [--workers 2] [--cache-dir DIR] [--limit N]

Goal: the full demo dataset (drums 200/20/5 and full 100/10/6 songs) generates in under
5 minutes on 2 cores. It is made with one ``prepare_demo`` call (one worker pool); the
script prints the songs and minutes of audio per task, then the wall time, songs/s,
audio-seconds per second, the CPU time used by the workers and the size of the cache.
``--limit N`` instead loads N songs per split through ``load_demo`` (a quick check).

Baseline, measured in the same run: one song of each task generated in memory in this
process (no workers, no FLAC), which projects what a single core would take; the ratio
of that projection to the measured wall time is the speed-up the workers and the cache
writer achieve. The load average is printed too: the CPUs may be shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from dmc.datasets.demo import SPLIT_SIZES, generate_song, load_demo, prepare_demo
from dmc.datasets.demo.cache import demo_root

GOAL_SECONDS = 300.0


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="generator processes (default 2)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="cache to fill (default: a temporary folder, deleted afterwards)",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="at most N songs per split (a quick run)"
    )
    args = parser.parse_args(argv)

    load_start = os.getloadavg()[0]
    baseline = {}
    for task in SPLIT_SIZES:
        generate_song(task, "val", 0)  # warm the sample cache, as a long-running worker is
        start = time.perf_counter()
        song = generate_song(task, "val", 1)
        baseline[task] = (time.perf_counter() - start) / song.duration_seconds
        print(
            f"baseline, one {task} song in memory in this process: "
            f"{baseline[task] * song.duration_seconds:.2f} s for {song.duration_seconds:.1f} s of audio"
        )

    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = args.cache_dir or Path(tmp)
        cpu_before = _children_cpu_seconds()
        start = time.perf_counter()
        if args.limit:
            for task, sizes in SPLIT_SIZES.items():
                for split, size in sizes.items():
                    load_demo(
                        task,
                        split,
                        cache_dir=cache_dir,
                        num_songs=min(size, args.limit),
                        workers=args.workers,
                    )
        else:
            prepare_demo(cache_dir=cache_dir, workers=args.workers)  # one pool for everything
        total_wall = time.perf_counter() - start
        total_audio, total_songs, projected = 0.0, 0, 0.0
        for task, sizes in SPLIT_SIZES.items():
            task_audio = task_songs = 0
            for split, size in sizes.items():
                songs = load_demo(
                    task, split, cache_dir=cache_dir, num_songs=min(size, args.limit or size)
                )
                task_audio += sum(s.duration_seconds for s in songs)
                task_songs += len(songs)
            print(f"{task:>5}: {task_songs:4d} songs, {task_audio / 60:5.1f} min of audio")
            total_audio += task_audio
            total_songs += task_songs
            projected += baseline[task] * task_audio
        cpu = _children_cpu_seconds() - cpu_before
        size_mb = _folder_bytes(demo_root(cache_dir)) / 1e6
    verdict = "under" if total_wall < GOAL_SECONDS else "OVER"
    print(
        f"total: {total_songs} songs, {total_audio / 60:.1f} min of audio in {total_wall:.1f} s wall "
        f"({verdict} the {GOAL_SECONDS:.0f} s goal): {total_songs / total_wall:.2f} songs/s, "
        f"{total_audio / total_wall:.1f} audio-seconds/s; {cpu:.0f} s CPU in workers; cache {size_mb:.0f} MB"
    )
    print(
        f"  workers' CPU / {args.workers}: {cpu / max(args.workers, 1):.0f} s, the wall time on "
        f"{args.workers} otherwise idle cores (the goal is met there when this is under {GOAL_SECONDS:.0f} s)"
    )
    print(
        f"  = {projected / total_wall:.2f} x faster than the single-process baseline "
        f"projects ({projected:.0f} s); {args.workers} workers, "
        f"load average {load_start:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return 0 if total_wall < GOAL_SECONDS or args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
