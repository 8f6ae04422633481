"""``python -m dmc.train encoder``: pre-train the track encoder as a role classifier.

The paper's VGGish cannot be downloaded here, so the encoder learns what a channel is
(kick, bass, vocals ...) from the demo multitracks' labelled tracks. Excerpts get a
random gain so the embedding does not encode level (level features are appended
separately, see :mod:`dmc.nn.encoder`).
"""

from __future__ import annotations

import argparse
import math

import torch
from torch import nn

from dmc.nn.encoder import TrackEncoder
from dmc.train import cli
from dmc.train.data import VAL_SEED_OFFSET, RoleExcerpts, batch_indices, fixed_items


class RoleClassifier(nn.Module):
    """Training wrapper: ``forward`` returns role logits (DDP only syncs through ``forward``)."""

    def __init__(self, encoder: TrackEncoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.encoder.logits(audio)


class EncoderRecipe:
    """Training recipe of the encoder (see :mod:`dmc.train.loop`)."""

    name = "encoder"

    def __init__(
        self,
        encoder_kwargs: dict,
        train_songs,
        val_songs,
        segment_samples: int,
        batch_size: int,
        val_items: int = 128,
        seed: int = 0,
        config: dict | None = None,
    ):
        torch.manual_seed(seed)
        self.model = RoleClassifier(TrackEncoder(**encoder_kwargs))
        self.train_data = RoleExcerpts(train_songs, segment_samples, seed=seed)
        self.val_data = RoleExcerpts(val_songs, segment_samples, seed=seed + VAL_SEED_OFFSET)
        self.val_items = fixed_items(self.val_data, val_items)
        self.batch_size = batch_size
        self.config = config or {"model": encoder_kwargs}

    @staticmethod
    def _stack(items):
        return {
            "audio": torch.stack([i["audio"] for i in items]),
            "role": torch.stack([i["role"] for i in items]),
        }

    def batch(self, step, rank, world_size):
        return self._stack(
            [self.train_data[i] for i in batch_indices(step, rank, world_size, self.batch_size)]
        )

    def loss(self, model, batch):
        logits = model(batch["audio"])
        accuracy = float((logits.argmax(dim=-1) == batch["role"]).float().mean())
        return nn.functional.cross_entropy(logits, batch["role"]), {"train_accuracy": accuracy}

    @torch.no_grad()
    def validate(self, model, device):
        model.eval()
        losses, correct = [], 0
        for first in range(0, len(self.val_items), 32):
            batch = {
                k: v.to(device) for k, v in self._stack(self.val_items[first : first + 32]).items()
            }
            logits = model(batch["audio"])
            losses.append(
                float(nn.functional.cross_entropy(logits, batch["role"], reduction="sum"))
            )
            correct += int((logits.argmax(dim=-1) == batch["role"]).sum())
        return {
            "val_loss": sum(losses) / len(self.val_items),
            "val_accuracy": correct / len(self.val_items),
        }

    def references(self, device):
        return {"chance": math.log(len(self.train_data.roles))}

    def exported(self, model):
        return model.encoder


def get_parser() -> argparse.ArgumentParser:
    parser = cli.recipe_parser("encoder", __doc__)
    model = parser.add_argument_group("model")
    model.add_argument(
        "--embedding-dim", type=int, default=64, help="learnt embedding size (default 64)"
    )
    model.add_argument(
        "--channels", default="16,32,64,64", help="conv channels (default 16,32,64,64)"
    )
    parser.add_argument(
        "--tasks", default="drums,full", help="whose songs give labelled tracks (default both)"
    )
    cli.add_data_arguments(parser)
    cli.add_loop_arguments(
        parser, steps=600, lr=1e-3, batch_size=32, segment_seconds=1.5, val_every=50
    )
    parser.add_argument(
        "--val-items", type=int, default=256, help="held-out excerpts (default 256)"
    )
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = get_parser().parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    loop = cli.loop_config(args, "encoder")
    kwargs = {
        "embedding_dim": args.embedding_dim,
        "channels": [int(c) for c in args.channels.split(",")],
    }
    segment = cli.segment_samples(args.segment_seconds)
    train_songs, val_songs = cli.train_and_val_songs(args, tasks)
    config = cli.run_config(
        "encoder", args, argv, kwargs, segment, train_songs, val_songs, tasks=tasks
    )
    recipe = EncoderRecipe(
        kwargs, train_songs, val_songs, segment, args.batch_size, args.val_items, args.seed, config
    )
    record = cli.train_and_export(recipe, loop, args.export)
    return record


if __name__ == "__main__":
    main()
