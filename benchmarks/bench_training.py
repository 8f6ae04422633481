"""Training throughput of the transformation network per preset (run by hand).

    python benchmarks/bench_training.py [--channels 16 32] [--threads 2] [--seconds 0.75] [--batch-size 4]

For each preset (tcn10/20/30) and channel count, times full optimiser steps (forward,
MR-STFT + L1 loss, backward, Adam) on random audio and prints audio-seconds trained per
second of wall time. A baseline measured in the same run, one step of the frozen-TCN
console path (forward + backward to the input only, as when the console trains through a
frozen TCN), is printed beside it as a ratio; the console's post-processor itself is
negligible next to either.
"""

from __future__ import annotations

import argparse
import time

import torch

from dmc import SAMPLE_RATE
from dmc.losses import EmulationLoss
from dmc.nn.tcn import PRESETS, TCN, preset


def _time(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, thread pool, kernel choice
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def _steps(model, frozen, loss_fn, x, params, target):
    """One optimiser step of ``model``; one forward + input-gradient pass of the frozen ``frozen``."""
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    x_grad = x.clone().requires_grad_(True)

    def train_step():
        optimiser.zero_grad()
        loss_fn(model(x, params), target).backward()
        optimiser.step()

    def frozen_step():
        frozen(x_grad, params).square().mean().backward()

    return train_step, frozen_step


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--channels", nargs="+", type=int, default=[16, 32])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=0.75, help="segment length (s)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    samples = int(args.seconds * SAMPLE_RATE)
    audio_seconds = args.batch_size * args.seconds
    x = 0.03 * torch.randn(args.batch_size, 1, samples)
    target = 0.03 * torch.randn(args.batch_size, 1, samples)
    params = torch.rand(args.batch_size, 22)
    loss_fn = EmulationLoss()
    print(
        f"{args.threads} threads, batch {args.batch_size} x {args.seconds:g} s = {audio_seconds:g} audio-s per step"
    )
    print(
        f"{'preset':8} {'ch':>3} {'params':>8} {'train step s':>12} {'audio-s/s':>10} {'samples/s':>10} "
        f"{'frozen step s':>13} {'train/frozen':>12}"
    )
    for name in args.presets:
        for channels in args.channels:
            model = TCN(**preset(name, channels=channels)).train()
            frozen = TCN(**preset(name, channels=channels)).eval().requires_grad_(False)
            train_step, frozen_step = _steps(model, frozen, loss_fn, x, params, target)
            train_s = _time(train_step, args.repeats)
            frozen_s = _time(frozen_step, args.repeats)
            count = sum(p.numel() for p in model.parameters())
            print(
                f"{name:8} {channels:3d} {count:8d} {train_s:12.2f} {audio_seconds / train_s:10.2f} "
                f"{audio_seconds * SAMPLE_RATE / train_s:10.0f} "
                f"{frozen_s:13.2f} {train_s / frozen_s:12.2f}"
            )


if __name__ == "__main__":
    main()
