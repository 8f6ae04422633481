"""Console inference speed and memory on this machine (run by hand).

    python benchmarks/bench_console_inference.py [--task full] [--tracks 8] [--seconds 10] [--threads 2]
    python benchmarks/bench_console_inference.py --memory-song   # 5-minute, 16-track peak-memory check

Prints the real-time factor per track-second (wall seconds spent per second of one track;
below 1 is faster than real time), beside a bound measured in the same run: the TCN's
multiply-accumulates per track-second divided by this machine's measured float32 matmul
throughput, i.e. the time the convolutions would take at matmul speed. The ratio shows how
far the implementation is from that bound. ``--memory-song`` mixes a 5-minute, 16-track
song block-wise in a child process and reports its peak resident memory (target: < 4 GB).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from dmc import SAMPLE_RATE
from dmc.console import DifferentiableMixingConsole
from dmc.mixers.console import ConsoleMixer, load_console
from dmc.nn.tcn import preset


def matmul_gmacs(size: int = 1024, repeats: int = 10) -> float:
    """Measured float32 matmul throughput in GMAC/s (one multiply-add per inner-product term)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return size**3 * repeats / (time.perf_counter() - start) / 1e9


def console_for(task: str, checkpoint: str | None, channels: int) -> DifferentiableMixingConsole:
    if checkpoint:
        return load_console(task, checkpoint, "cpu").console
    try:
        return load_console(task, None, "cpu").console
    except ValueError:  # no shipped checkpoint yet: an untrained console of the shipped size
        return DifferentiableMixingConsole(
            task, tcn=preset("tcn10", channels=channels) if task == "full" else None
        )


def tracks_for(count: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.03 * rng.standard_normal((count, int(seconds * SAMPLE_RATE)))).astype(np.float32)


def speed(args) -> None:
    console = console_for(args.task, args.checkpoint, args.channels)
    mixer = ConsoleMixer(console, "cpu")
    tracks = tracks_for(args.tracks, args.seconds)
    mixer.mix(tracks[:, :SAMPLE_RATE], SAMPLE_RATE)  # warm-up
    start = time.perf_counter()
    mixer.mix(tracks, SAMPLE_RATE)
    elapsed = time.perf_counter() - start
    track_seconds = args.tracks * args.seconds
    rtf = elapsed / track_seconds
    gmacs = matmul_gmacs()
    print(
        f"task {args.task}, {args.tracks} tracks x {args.seconds:g} s, {torch.get_num_threads()} threads"
    )
    print(f"measured: {elapsed:.2f} s -> real-time factor {rtf:.4f} s per track-second")
    print(f"matmul throughput: {gmacs:.1f} GMAC/s")
    tcn = console.tcn
    if tcn is not None:
        macs = tcn.macs_per_sample * SAMPLE_RATE
        bound = macs / (gmacs * 1e9)
        print(f"TCN: {tcn.macs_per_sample} MAC/sample = {macs / 1e9:.2f} GMAC per track-second")
        print(
            f"bound at matmul speed: {bound:.4f} s per track-second; measured / bound = {rtf / bound:.1f}x"
        )
    else:
        print("drums task: gain and pan only, no TCN; the encoder dominates")


def memory_child(args) -> None:
    console = console_for(args.task, args.checkpoint, args.channels)
    mixer = ConsoleMixer(console, "cpu")
    tracks = tracks_for(16, 300.0)
    start = time.perf_counter()
    result = mixer.mix(tracks, SAMPLE_RATE)
    elapsed = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"5-minute 16-track song ({args.task}): {elapsed:.1f} s, output {result.audio.shape}, "
        f"peak RSS {peak_gb:.2f} GB (input alone {tracks.nbytes / 1024**3:.2f} GB)"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", default="full", choices=("drums", "full"))
    parser.add_argument(
        "--checkpoint", default=None, help="console checkpoint (default the shipped one)"
    )
    parser.add_argument(
        "--channels", type=int, default=16, help="TCN width when no checkpoint exists"
    )
    parser.add_argument("--tracks", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--memory-song", action="store_true", help="peak memory of a 5-minute, 16-track song"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.child:
        memory_child(args)
    elif args.memory_song:
        # A fresh process, so the peak belongs to this song alone.
        command = [
            sys.executable,
            __file__,
            "--child",
            "--task",
            args.task,
            "--threads",
            str(args.threads),
            "--channels",
            str(args.channels),
        ] + (["--checkpoint", args.checkpoint] if args.checkpoint else [])
        subprocess.run(command, check=True)
    else:
        speed(args)


if __name__ == "__main__":
    main()
