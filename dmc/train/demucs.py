"""``python -m dmc.train demucs``: train the Demucs baseline end to end on the drums task.

The paper's third baseline. Everything but the model is the console's: the same staged
drum multitracks (``dmc.staging.GainStaging``), the same random segments and the same
fixed validation segments (for the same ``--seed`` and ``--segment-seconds``, so the
validation losses of the two models are directly comparable), the same stereo
sum/difference MR-STFT loss and the same generic loop (:mod:`dmc.train.loop`).
The only difference is the input layout: the U-Net has one input channel per
microphone, so every song's tracks are put into the fixed 8-slot drum layout first
(:func:`dmc.nn.demucs.drum_slots`).

Validation logs two reference lines on the same segments: the mono mix (equal gains,
centred) and the same architecture untrained, which a trained model must clearly beat.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import replace

import numpy as np
import torch

from dmc import SAMPLE_RATE
from dmc.datasets import DatasetError
from dmc.datasets.enst import silent_track
from dmc.losses import StereoSumDifferenceLoss
from dmc.nn.demucs import DRUM_SLOT_ROLES, DRUM_TRACK_ORDER, DemucsMixer, drum_slots
from dmc.train import cli
from dmc.train.data import (
    VAL_SEED_OFFSET,
    ConsoleSegments,
    StagedSong,
    batch_indices,
    collate_tracks,
    fixed_items,
)
from dmc.train.loop import TrainingError

VAL_BATCH = 4


def to_drum_layout(songs: list[StagedSong]) -> list[StagedSong]:
    """Staged songs with their tracks in the model's fixed 8-slot layout (silent empty slots).

    Tracks are renamed after their slot; a song already in that layout is kept as is.

    Raises:
        DatasetError: a song has a track the layout has no slot for; the message names it.
    """
    out = []
    for staged in songs:
        try:
            slots = drum_slots(staged.roles)
        except ValueError as exc:
            raise DatasetError(f"song {staged.song_id!r}: {exc}") from None
        song = staged.song
        if slots == list(range(len(DRUM_TRACK_ORDER))) and song.track_names == list(
            DRUM_TRACK_ORDER
        ):
            out.append(staged)
            continue
        tracks = [
            silent_track(name, role, song.num_samples)
            for name, role in zip(DRUM_TRACK_ORDER, DRUM_SLOT_ROLES)
        ]
        gains_db = np.zeros(len(DRUM_TRACK_ORDER), dtype=np.float32)
        for track, gain_db, slot in zip(song.tracks, staged.gains_db, slots):
            tracks[slot] = replace(track, name=DRUM_TRACK_ORDER[slot])
            gains_db[slot] = gain_db
        out.append(StagedSong(replace(song, tracks=tracks), gains_db))
    return out


class DemucsRecipe:
    """Training recipe of the Demucs baseline (see :mod:`dmc.train.loop`).

    Args:
        model: the :class:`DemucsMixer` to train (its initial weights are kept as the
            "untrained" reference).
        train_songs, val_songs: staged songs in the 8-slot drum layout, with targets.
        segment_samples: length of every training and validation segment.
        batch_size: segments per step.
        val_items: fixed validation segments.
        seed: data seed (validation segments use ``seed + VAL_SEED_OFFSET``, as the console's do).
        config: the resolved configuration stored with the run.
    """

    name = "demucs"

    def __init__(
        self,
        model: DemucsMixer,
        train_songs,
        val_songs,
        segment_samples: int,
        batch_size: int,
        val_items: int = 24,
        seed: int = 0,
        config: dict | None = None,
    ):
        self.model = model
        self.untrained = copy.deepcopy(model).eval()
        self.train_data = ConsoleSegments(train_songs, segment_samples, seed=seed)
        self.val_items = fixed_items(
            ConsoleSegments(val_songs, segment_samples, seed=seed + VAL_SEED_OFFSET), val_items
        )
        self.batch_size = batch_size
        self.criterion = StereoSumDifferenceLoss()
        self.config = config or {"model": model.init_kwargs}

    def batch(self, step, rank, world_size):
        items = [self.train_data[i] for i in batch_indices(step, rank, world_size, self.batch_size)]
        return {k: v for k, v in collate_tracks(items).items() if k != "mask"}

    def loss(self, model, batch):
        return self.criterion(model(batch["tracks"]), batch["target"]), {}

    def _val_batches(self, device):
        for first in range(0, len(self.val_items), VAL_BATCH):
            batch = collate_tracks(self.val_items[first : first + VAL_BATCH])
            yield batch["tracks"].to(device), batch["target"].to(device)

    @torch.no_grad()
    def _mean_loss(self, mix_fn, device) -> float:
        losses = [
            float(self.criterion(mix_fn(tracks), target))
            for tracks, target in self._val_batches(device)
        ]
        return sum(losses) / len(losses)

    def validate(self, model, device):
        model.eval()
        return {"val_loss": self._mean_loss(model, device)}

    def references(self, device):
        untrained = self.untrained.to(device)

        def mono(tracks):
            return tracks.sum(dim=1, keepdim=True).expand(-1, 2, -1) * np.sqrt(0.5)

        return {
            "mono mix": self._mean_loss(mono, device),
            "untrained demucs": self._mean_loss(untrained, device),
        }

    def exported(self, model):
        return model


def get_parser() -> argparse.ArgumentParser:
    parser = cli.recipe_parser("demucs", __doc__)
    model = parser.add_argument_group(
        "model (dmc.nn.demucs.DemucsMixer: the demucs package's Demucs, 8 tracks in)"
    )
    model.add_argument(
        "--channels", type=int, default=16, help="first encoder block's width (default 16)"
    )
    model.add_argument(
        "--growth", type=float, default=2.0, help="width factor per block (default 2)"
    )
    model.add_argument("--depth", type=int, default=4, help="encoder/decoder blocks (default 4)")
    model.add_argument(
        "--kernel-size", type=int, default=8, help="strided conv kernel, samples (default 8)"
    )
    model.add_argument("--stride", type=int, default=4, help="downsampling per block (default 4)")
    model.add_argument(
        "--lstm-layers", type=int, default=2, help="bottleneck BLSTM layers; 0: none (default 2)"
    )
    model.add_argument(
        "--dconv-mode",
        type=int,
        default=1,
        choices=(0, 1, 2, 3),
        help="the package's residual branches: 0 none, 1 encoder, 2 decoder, 3 both (default 1)",
    )
    model.add_argument(
        "--no-resample",
        dest="resample",
        action="store_false",
        help="run the U-Net at the input rate (default: the package's x2 resampling)",
    )
    model.add_argument(
        "--no-normalize",
        dest="normalize",
        action="store_false",
        help="do not normalise the input level (default: normalise and restore)",
    )
    cli.add_data_arguments(parser)
    cli.add_loop_arguments(
        parser, steps=1060, lr=1e-3, batch_size=4, segment_seconds=2.0, val_every=100
    )
    parser.add_argument(
        "--val-items", type=int, default=24, help="validation segments (default 24)"
    )
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = get_parser().parse_args(argv)
    loop = cli.loop_config(args, "demucs-drums")
    segment = cli.segment_samples(args.segment_seconds, StereoSumDifferenceLoss().min_samples)
    torch.manual_seed(args.seed)
    try:
        model = DemucsMixer(
            num_tracks=len(DRUM_SLOT_ROLES),
            sample_rate=SAMPLE_RATE,
            segment_seconds=args.segment_seconds,
            channels=args.channels,
            growth=args.growth,
            depth=args.depth,
            kernel_size=args.kernel_size,
            stride=args.stride,
            lstm_layers=args.lstm_layers,
            dconv_mode=args.dconv_mode,
            normalize=args.normalize,
            resample=args.resample,
        )
    except ValueError as exc:
        raise TrainingError(f"bad model option: {exc}") from None
    train_songs, val_songs = (
        to_drum_layout(songs) for songs in cli.train_and_val_songs(args, ["drums"])
    )
    config = cli.run_config(
        "demucs",
        args,
        argv,
        model.init_kwargs,
        segment,
        train_songs,
        val_songs,
        task="drums",
        num_parameters=model.num_parameters,
    )
    recipe = DemucsRecipe(
        model,
        train_songs,
        val_songs,
        segment,
        args.batch_size,
        args.val_items,
        args.seed,
        config,
    )
    record = cli.train_and_export(recipe, loop, args.export)
    return record


if __name__ == "__main__":
    main()
