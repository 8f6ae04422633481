"""``python -m dmc.train transform``: pre-train the TCN to emulate EQ -> compressor -> reverb.

Triples (input, parameters, target) are made on the fly: a clean staged track excerpt
(of the demo multitracks, or with ``--data signaltrain`` of SignalTrain LA2A's clean
inputs, as in the paper), a random setting of the 22 effect parameters (whole groups
sometimes bypassed), and the excerpt run through the real pedalboard chain at that
setting. Validation uses held-out songs and settings, and reports the emulation error
(MR-STFT of TCN output vs real chain) beside the error of doing nothing (the untouched
input vs the real chain). ``--targets dsp`` computes the real chain's output with its
exact copy (``dmc.dsp``), a batch at a time: the same targets, fast enough to feed a GPU.
"""

from __future__ import annotations

import argparse

import torch

from dmc.datasets import SOURCE_DATASETS
from dmc.losses import EmulationLoss
from dmc.nn.tcn import PRESETS, TCN, preset
from dmc.train import cli
from dmc.train.data import (
    TARGET_SOURCES,
    VAL_SEED_OFFSET,
    EffectTriples,
    batch_indices,
    fixed_items,
)


class TransformRecipe:
    """Training recipe of the transformation network (see :mod:`dmc.train.loop`)."""

    name = "transform"

    def __init__(
        self,
        tcn_kwargs: dict,
        train_songs,
        val_songs,
        segment_samples: int,
        batch_size: int,
        val_items: int = 32,
        seed: int = 0,
        w_time: float = 10.0,
        config: dict | None = None,
        targets: str = "chain",
    ):
        torch.manual_seed(seed)
        self.model = TCN(**tcn_kwargs)
        self.train_data = EffectTriples(train_songs, segment_samples, seed=seed, targets=targets)
        self.val_items = fixed_items(
            EffectTriples(val_songs, segment_samples, seed=seed + VAL_SEED_OFFSET, targets=targets),
            val_items,
        )
        self.batch_size = batch_size
        self.criterion = EmulationLoss(w_time=w_time)
        self.config = config or {"model": tcn_kwargs}

    @staticmethod
    def _stack(items) -> dict[str, torch.Tensor]:
        return {key: torch.stack([item[key] for item in items]) for key in items[0]}

    def batch(self, step, rank, world_size):
        return self.train_data.batch(batch_indices(step, rank, world_size, self.batch_size))

    def loss(self, model, batch):
        return self.criterion(model(batch["input"], batch["params"]), batch["target"]), {}

    def _val_batches(self, device):
        for first in range(0, len(self.val_items), 8):
            batch = self._stack(self.val_items[first : first + 8])
            yield {k: v.to(device) for k, v in batch.items()}

    @torch.no_grad()
    def validate(self, model, device):
        model.eval()
        totals = {"val_loss": 0.0, "val_mrstft": 0.0, "val_input_mrstft": 0.0}
        count = 0
        for batch in self._val_batches(device):
            out = model(batch["input"], batch["params"])
            totals["val_loss"] += float(self.criterion(out, batch["target"]))
            totals["val_mrstft"] += float(self.criterion.spectral(out, batch["target"]))
            totals["val_input_mrstft"] += float(
                self.criterion.spectral(batch["input"], batch["target"])
            )
            count += 1
        return {k: v / count for k, v in totals.items()}

    @torch.no_grad()
    def references(self, device):
        losses = [float(self.criterion(b["input"], b["target"])) for b in self._val_batches(device)]
        return {"untouched input": sum(losses) / len(losses)}

    def exported(self, model):
        return model


def get_parser() -> argparse.ArgumentParser:
    parser = cli.recipe_parser("transform", __doc__)
    model = parser.add_argument_group("model")
    model.add_argument(
        "--preset", default="tcn10", choices=tuple(PRESETS), help="TCN depth (default tcn10)"
    )
    model.add_argument(
        "--channels", type=int, default=None, help="override the preset's channels (e.g. 16)"
    )
    model.add_argument(
        "--kernel-size", type=int, default=None, help="override the preset's kernel size"
    )
    model.add_argument(
        "--num-blocks", type=int, default=None, help="override the preset's number of blocks"
    )
    model.add_argument(
        "--w-time", type=float, default=10.0, help="weight of the L1 waveform term (default 10)"
    )
    parser.add_argument(
        "--tasks",
        default="drums,full",
        help="whose training songs give clean tracks (default both; --data signaltrain has no tasks)",
    )
    cli.add_data_arguments(parser, sources=True)
    cli.add_loop_arguments(
        parser, steps=1500, lr=1e-3, batch_size=4, segment_seconds=0.75, val_every=100
    )
    parser.add_argument("--val-items", type=int, default=32, help="held-out examples (default 32)")
    parser.add_argument(
        "--targets",
        default="chain",
        choices=TARGET_SOURCES,
        help="the real chain's outputs from pedalboard, item by item (default), or from its "
        "exact copy dmc.dsp, a batch at a time (the same audio; feeds a GPU)",
    )
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = get_parser().parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t] if args.data not in SOURCE_DATASETS else []
    loop = cli.loop_config(args, f"transform-{args.preset}")
    tcn_kwargs = preset(
        args.preset,
        channels=args.channels,
        kernel_size=args.kernel_size,
        num_blocks=args.num_blocks,
    )
    segment = cli.segment_samples(args.segment_seconds)
    train_songs, val_songs = cli.train_and_val_songs(args, tasks)
    config = cli.run_config(
        "transform",
        args,
        argv,
        tcn_kwargs,
        segment,
        train_songs,
        val_songs,
        preset=args.preset,
        tasks=tasks,
        w_time=args.w_time,
        **({"targets": args.targets} if args.targets != "chain" else {}),
    )
    recipe = TransformRecipe(
        tcn_kwargs,
        train_songs,
        val_songs,
        segment,
        args.batch_size,
        args.val_items,
        args.seed,
        args.w_time,
        config,
        targets=args.targets,
    )
    record = cli.train_and_export(recipe, loop, args.export)
    return record


if __name__ == "__main__":
    main()
