"""Speed of the transformation network: fast path vs reference, against matmul throughput (by hand).

    python benchmarks/bench_training.py [--presets tcn10 tcn20 tcn30] [--channels 8 16 32]
                                        [--threads 2] [--seconds 0.75] [--batch-size 4]

For each preset and width it times, on random audio:

- a training step (forward, MR-STFT + L1 loss, backward, Adam) of the plain ``nn``
  reference (``tcn.reference = True``) and of the fast path (the default);
- the frozen pass the console needs (forward + gradient to the input, parameters frozen);
- inference (forward, no gradients), per track-second.

Beside each, the multiply-accumulates the convolutions need per second of wall time,
as a fraction of this machine's float32 matmul throughput measured in the same run
(``matmul``: a 2048 x 2048 product). A training step costs three convolution passes
(forward, input gradient, weight gradient), a frozen pass two, inference one. The
fast path compiles its fused kernels on first use; that time is left out (warm-up).
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from dmc import SAMPLE_RATE
from dmc.losses import EmulationLoss
from dmc.nn.tcn import PRESETS, TCN, preset


def _time(fn, repeats: int) -> float:
    fn()
    fn()  # warm-up: compilation, allocator, thread pool, kernel choice
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def matmul_gmacs(size: int = 2048, repeats: int = 5) -> float:
    """Measured float32 matmul throughput in GMAC/s (one multiply-add per inner-product term)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    return size**3 / _time(lambda: a @ b, repeats) / 1e9


def _randomised(name: str, channels: int) -> TCN:
    torch.manual_seed(0)
    model = TCN(**preset(name, channels=channels))
    with torch.no_grad():  # away from the identity initialisation, so no work can be skipped
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def measure(name: str, channels: int, args, gmacs: float) -> dict[str, float]:
    samples = int(args.seconds * SAMPLE_RATE)
    x = 0.03 * torch.randn(args.batch_size, 1, samples)
    target = 0.03 * torch.randn(args.batch_size, 1, samples)
    params = torch.rand(args.batch_size, 22)
    loss_fn = EmulationLoss()
    fast = _randomised(name, channels).train()
    reference = copy.deepcopy(fast)
    reference.reference = True
    conv_gmac = fast.macs_per_sample * samples * args.batch_size / 1e9  # one pass

    def train_step(model, optimiser):
        optimiser.zero_grad()
        loss_fn(model(x, params), target).backward()
        optimiser.step()

    out = {}
    for label, model in (("reference", reference), ("fast", fast)):
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-5)
        out[f"{label}_step_s"] = _time(lambda m=model, o=optimiser: train_step(m, o), args.repeats)
        frozen = copy.deepcopy(model).eval().requires_grad_(False)
        x_grad = x.clone().requires_grad_(True)
        out[f"{label}_frozen_s"] = _time(
            lambda f=frozen, xg=x_grad: f(xg, params).square().mean().backward(), args.repeats
        )
        with torch.no_grad():
            out[f"{label}_infer_s"] = _time(lambda f=frozen: f(x, params), args.repeats)
    track_seconds = args.batch_size * args.seconds
    out["step_speedup"] = out["reference_step_s"] / out["fast_step_s"]
    out["frozen_speedup"] = out["reference_frozen_s"] / out["fast_frozen_s"]
    out["fast_step_of_matmul"] = 3 * conv_gmac / out["fast_step_s"] / gmacs
    out["fast_frozen_of_matmul"] = 2 * conv_gmac / out["fast_frozen_s"] / gmacs
    out["fast_infer_of_matmul"] = conv_gmac / out["fast_infer_s"] / gmacs
    out["fast_infer_s_per_track_s"] = out["fast_infer_s"] / track_seconds
    out["reference_infer_s_per_track_s"] = out["reference_infer_s"] / track_seconds
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--channels", nargs="+", type=int, default=[8, 16, 32])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=0.75, help="segment length (s)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    gmacs = matmul_gmacs()
    print(
        f"{args.threads} threads, batch {args.batch_size} x {args.seconds:g} s; "
        f"float32 matmul {gmacs:.1f} GMAC/s (measured now)\n"
    )
    print(
        "| preset | ch | train step ref s | fast s | speed-up | fast, of matmul "
        "| frozen ref s | fast s | speed-up | of matmul | infer s per track-s ref | fast | of matmul |"
    )
    print("| --- | ---: |" + " ---: |" * 11)
    for name in args.presets:
        for channels in args.channels:
            r = measure(name, channels, args, gmacs)
            print(
                f"| {name} | {channels} | {r['reference_step_s']:.3f} | {r['fast_step_s']:.3f} "
                f"| {r['step_speedup']:.2f}x | {100 * r['fast_step_of_matmul']:.0f} % "
                f"| {r['reference_frozen_s']:.3f} | {r['fast_frozen_s']:.3f} "
                f"| {r['frozen_speedup']:.2f}x | {100 * r['fast_frozen_of_matmul']:.0f} % "
                f"| {r['reference_infer_s_per_track_s']:.4f} | {r['fast_infer_s_per_track_s']:.4f} "
                f"| {100 * r['fast_infer_of_matmul']:.0f} % |",
                flush=True,
            )


if __name__ == "__main__":
    main()
