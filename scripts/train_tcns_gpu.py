"""TCN-10, TCN-20 and TCN-30 at the paper's 32 channels, on a GPU, in about ten minutes in all.

    python scripts/train_tcns_gpu.py [--out dmc/checkpoints] [--minutes 3] [--device cuda]

The paper's recipe (32 channels, large batches) is out of reach of two CPU cores, which
ship 16-channel networks (dmc/checkpoints/README.md). Given a GPU, this script trains
the three presets at 32 channels, one after the other, each in ``--minutes`` of training:

1. a short calibration run measures the seconds per step of the preset on this machine;
2. the real run gets as many steps as fit its minutes, with a cosine schedule that ends
   at its last step, and ``--max-minutes`` as a guard;
3. the best model is exported to ``--out/tcnNN.pt`` with its record and loss curves.

Targets come from the exact copy of the effects (``--targets dsp``), a whole batch per
call, so the input pipeline keeps up with the GPU. When the three are trained, the
emulation table is rendered with them (``python -m dmc.render transform``) into
``--out/transform``, and a summary table is printed: each network's validation emulation
error beside the untouched input's, from its record.

Smoke test on any machine: ``DMC_SMOKE=1 python scripts/train_tcns_gpu.py --device cpu
--out /tmp/tcns`` runs every stage on the least data (each training command says so).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

from dmc.cli import smoke as smoke_mode

PRESETS = ("tcn10", "tcn20", "tcn30")
#: The shared recipe: the paper's width, a GPU-sized batch, the console's segment length.
RECIPE = (
    "--channels", "32", "--batch-size", "64", "--segment-seconds", "0.75",
    "--lr", "2e-3", "--lr-schedule", "cosine", "--targets", "dsp", "--val-items", "64",
    # 40 songs per task and split: enough clean tracks, and a fresh machine generates them
    # in a minute or two (the demo data is made on first use)
    "--num-songs", "40",
)  # fmt: skip
CALIBRATION_STEPS = 20


def train(preset: str, device: str, steps: int, run_dir: Path, extra: list[str]) -> dict:
    """One ``python -m dmc.train transform`` run; its record."""
    command = [
        sys.executable, "-m", "dmc.train", "transform", "--preset", preset, *RECIPE,
        "--device", device, "--steps", str(steps), "--run-dir", str(run_dir), "--no-progress",
        *extra,
    ]  # fmt: skip
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)
    return json.loads((run_dir / "record.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("dmc/checkpoints"))
    parser.add_argument("--minutes", type=float, default=3.0, help="training time per network")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="run folders' parent")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "train_tcns_gpu: error: no CUDA device here; use --device cpu to try it",
            file=sys.stderr,
        )
        return 2
    smoke = smoke_mode()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for preset in PRESETS:
        calibration = train(
            preset,
            args.device,
            CALIBRATION_STEPS,
            args.runs / f"gpu-calibrate-{preset}",
            ["--val-every", str(CALIBRATION_STEPS), "--no-resume"],
        )
        seconds_per_step = calibration["wall_time_s"] / max(1, calibration["steps"])
        steps = max(CALIBRATION_STEPS, int(0.9 * 60 * args.minutes / seconds_per_step))
        print(f"{preset}: {seconds_per_step:.3f} s per step -> {steps} steps", flush=True)
        record = train(
            preset,
            args.device,
            steps,
            args.runs / f"gpu-{preset}",
            [
                "--warmup-steps", str(max(1, steps // 20)), "--val-every", str(max(1, steps // 8)),
                "--max-minutes", str(1.2 * args.minutes), "--no-resume",
                "--export", str(args.out / f"{preset}.pt"),
            ],
        )  # fmt: skip
        shipped = json.loads((args.out / f"{preset}.json").read_text())["shipped_model"]
        rows.append(
            (
                preset,
                record["steps"],
                record["wall_time_s"],
                shipped["validation"]["val_mrstft"],
                shipped["validation"]["val_input_mrstft"],
            )
        )
    render = [
        sys.executable, "-m", "dmc.render", "transform", "--checkpoints", str(args.out),
        "--out", str(args.out / "transform"), "--device", args.device, "--force", "--no-progress",
    ]  # fmt: skip
    print("$", " ".join(render[1:]), flush=True)
    subprocess.run(render, check=True)
    print("\n| network | steps | wall s | val emulation MR-STFT | untouched input | better by |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for preset, steps, wall, error, untouched in rows:
        print(
            f"| {preset} | {steps} | {wall:.0f} | {error:.3f} | {untouched:.3f} | {untouched / error:.2f}x |"
        )
    if smoke:
        print("(DMC_SMOKE run: every stage ran on the least data; the numbers mean nothing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
