"""Command-line pieces shared by the training subcommands: loop options, data, export."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch

from dmc import SAMPLE_RATE
from dmc.cli import SMOKE_ENV, Parser, note, smoke
from dmc.datasets import DATASETS, SOURCE_DATASETS, DatasetError, load_songs, load_sources
from dmc.train.data import StagedSong, stage_songs
from dmc.train.loop import LR_SCHEDULES, LoopConfig, TrainingError, command_line, train

#: What ``DMC_SMOKE=1`` caps (:func:`apply_smoke`): enough to run every stage of a run.
SMOKE_CAPS = {
    "steps": 2,
    "num_songs": 2,
    "batch_size": 2,
    "val_items": 2,
    "segment_seconds": 0.25,
}


def add_loop_arguments(
    parser: argparse.ArgumentParser,
    steps: int,
    lr: float,
    batch_size: int,
    segment_seconds: float,
    val_every: int,
) -> None:
    group = parser.add_argument_group("training loop")
    group.add_argument(
        "--run-dir", type=Path, default=None, help="state, curves and models (default runs/<name>)"
    )
    group.add_argument(
        "--steps", type=int, default=steps, help=f"optimiser steps (default {steps})"
    )
    group.add_argument("--lr", type=float, default=lr, help=f"Adam learning rate (default {lr:g})")
    group.add_argument(
        "--lr-schedule",
        default="constant",
        choices=LR_SCHEDULES,
        help="constant, or cosine: linear warm-up, then down to lr/10 at --steps",
    )
    group.add_argument(
        "--warmup-steps", type=int, default=0, help="warm-up steps of --lr-schedule cosine"
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=batch_size,
        help=f"items per step per process (default {batch_size})",
    )
    group.add_argument(
        "--segment-seconds",
        type=float,
        default=segment_seconds,
        help=f"length of each training example (default {segment_seconds:g} s)",
    )
    group.add_argument(
        "--val-every",
        type=int,
        default=val_every,
        help=f"validate every N steps (default {val_every})",
    )
    group.add_argument(
        "--save-every",
        type=int,
        default=50,
        help="write the resumable state every N steps (default 50)",
    )
    group.add_argument(
        "--grad-clip", type=float, default=1.0, help="max gradient norm; 0 disables (default 1)"
    )
    group.add_argument(
        "--device", default=None, help="cpu, cuda or cuda:N (default cuda if available)"
    )
    group.add_argument(
        "--amp", action="store_true", help="mixed precision (float16 on CUDA, bfloat16 on CPU)"
    )
    group.add_argument(
        "--seed", type=int, default=0, help="seed of data, initialisation and dropout (default 0)"
    )
    group.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads per process (default: torch's choice)",
    )
    group.add_argument(
        "--max-minutes", type=float, default=None, help="stop cleanly after this much wall time"
    )
    group.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="ignore an existing state in --run-dir",
    )
    group.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    group.add_argument(
        "--export",
        type=Path,
        default=None,
        help="copy the best model here at the end, with a JSON record beside it",
    )


def add_data_arguments(
    parser: argparse.ArgumentParser, default_num_songs: int | None = None, sources: bool = False
) -> None:
    """``--data``, ``--root``, ``--num-songs``; ``sources`` also offers the clean-source
    datasets (:data:`dmc.datasets.SOURCE_DATASETS`), for models trained on single tracks."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data",
        default="demo",
        choices=(*DATASETS, *(SOURCE_DATASETS if sources else ()), "synthetic"),
        help="dataset (synthetic: tiny generated songs for smoke tests)",
    )
    group.add_argument(
        "--root",
        type=Path,
        default=None,
        help=f"dataset folder ({', '.join(('enst', 'medleydb', 'folder', *(SOURCE_DATASETS if sources else ())))}; "
        "folder: one subfolder per song, tracks named by role, songs per split in DIR/split.csv)",
    )
    group.add_argument(
        "--num-songs",
        type=int,
        default=default_num_songs,
        help="use at most this many songs per split (default all)",
    )


def apply_smoke(args: argparse.Namespace, prog: str) -> None:
    """Under ``DMC_SMOKE=1``, lower ``args`` to :data:`SMOKE_CAPS` (never raise them) and say so.

    A smoke run passes through every stage of a real one (data, references, validation,
    steps, checkpoints, export) in seconds, so a documented command can be tested as
    written; its model is worthless.
    """
    if not smoke():
        return
    capped = []
    for name, cap in SMOKE_CAPS.items():
        value = getattr(args, name, None)
        if hasattr(args, name) and (value is None or value > cap):
            setattr(args, name, cap)
            capped.append(f"--{name.replace('_', '-')} {cap:g}")
    if capped:
        note(prog, f"{SMOKE_ENV} is set: a smoke run ({', '.join(capped)})")


def loop_config(args: argparse.Namespace, default_run_dir: str) -> LoopConfig:
    """The loop settings of ``args`` (after :func:`apply_smoke`); bad values raise :class:`TrainingError`."""
    apply_smoke(args, f"python -m dmc.train {default_run_dir.split('-')[0]}")
    if args.steps < 1 or args.batch_size < 1:
        raise TrainingError(
            f"--steps and --batch-size must be positive, got {args.steps} and {args.batch_size}"
        )
    if args.num_songs is not None and args.num_songs < 1:
        raise TrainingError(f"--num-songs must be 1 or more, got {args.num_songs}")
    if args.threads:
        torch.set_num_threads(args.threads)
    return LoopConfig(
        run_dir=args.run_dir or Path("runs") / default_run_dir,
        steps=args.steps,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        warmup_steps=args.warmup_steps,
        grad_clip=args.grad_clip or None,
        val_every=args.val_every,
        save_every=args.save_every,
        device=args.device,
        amp=args.amp,
        seed=args.seed,
        max_minutes=args.max_minutes,
        progress=args.progress,
        resume=args.resume,
    )


def staged_songs(
    data: str,
    tasks: Sequence[str],
    split: str,
    root: Path | None = None,
    num_songs: int | None = None,
    progress: bool = True,
) -> list[StagedSong]:
    """Songs of ``split`` for every task in ``tasks``, loaded and gain-staged.

    A clean-source dataset (SignalTrain) has no tasks: its split is loaded once.
    """
    songs = []
    if data in SOURCE_DATASETS:
        found = load_sources(data, split, root, sample_rate=SAMPLE_RATE)
        songs, tasks = found[:num_songs] if num_songs else found, ()
    for task in tasks:
        if data == "synthetic":
            from dmc.train.synthetic import synthetic_songs

            found = synthetic_songs(task, split, count=num_songs or 6)
        elif data == "demo" and num_songs:
            # Only the songs used are generated: the first N of the split, the same every time.
            from dmc.datasets.demo import SPLIT_SIZES

            found = load_songs(
                data, task, split, num_songs=min(num_songs, SPLIT_SIZES[task][split])
            )
        else:
            found = load_songs(data, task, split, root=root)
        songs += found[:num_songs] if num_songs else found
    if not songs:
        raise DatasetError(f"no {split} songs in --data {data} for {', '.join(tasks)}")
    return stage_songs(songs, progress=progress, sample_rate=SAMPLE_RATE)


def recipe_parser(name: str, description: str | None) -> Parser:
    """The parser of ``python -m dmc.train NAME``, with the recipe module's docstring as help."""
    return Parser(
        prog=f"python -m dmc.train {name}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def segment_samples(seconds: float, min_samples: int = 1) -> int:
    """``--segment-seconds`` in samples at the training rate; shorter than ``min_samples`` is bad input."""
    segment = round(seconds * SAMPLE_RATE)
    if segment < min_samples:
        raise TrainingError(
            f"--segment-seconds {seconds:g} is {segment} samples; this recipe needs at least "
            f"{min_samples} ({min_samples / SAMPLE_RATE:.3f} s)"
        )
    return segment


def train_and_val_songs(
    args: argparse.Namespace, tasks: Sequence[str]
) -> tuple[list[StagedSong], list[StagedSong]]:
    """The staged train and val songs of ``tasks`` in the dataset the data options name."""
    return tuple(
        staged_songs(args.data, tasks, split, args.root, args.num_songs, args.progress)
        for split in ("train", "val")
    )


def run_config(
    name: str,
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    model: dict,
    segment: int,
    train_songs: Sequence,
    val_songs: Sequence,
    **recipe_settings,
) -> dict:
    """What a run is, as stored in its state and record: a resumed run must match it.

    The keys every recipe shares (model, data and its fingerprint, segment, batch, song
    counts, the command line) plus ``recipe_settings``. ``argv`` is kept for the record
    and left out of the resume check, so a resumed command may differ in ``--steps``.
    """
    return {
        "model": model,
        "data": args.data,
        "data_fingerprint": data_fingerprint(args.data),
        "segment_samples": segment,
        "batch_size": args.batch_size,
        "train_songs": len(train_songs),
        "val_songs": len(val_songs),
        **recipe_settings,
        "argv": [name, *command_line(argv)],
    }


def train_and_export(recipe, loop: LoopConfig, destination: Path | None) -> dict:
    """Run the loop, copy the best model to ``--export`` (when given) and say, in one
    closing line, where the model is and how well it did; the run record."""
    record = train(recipe, loop)
    export(record, loop.run_dir, destination)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, one closing line
        print(closing_line(record, loop.run_dir, destination))
    return record


def closing_line(record: dict, run_dir: Path, destination: Path | None) -> str:
    """What a finished run leaves: the best model (exported or in the run folder), its
    validation loss and step, and the reference mixes' losses on the same segments, so
    that the number means something without opening the record."""
    best = destination if destination is not None else run_dir / "best.pt"
    if not best.is_file():
        return f"trained {record['steps']} steps; no validation ran, so no best model ({run_dir})"
    step = torch.load(best, map_location="cpu", weights_only=True)["training"]["steps"]
    where = (
        f"exported {best} (record {best.with_suffix('.json').name}, curves "
        f"{best.with_suffix('.png').name})"
        if destination is not None
        else f"best model {best}"
    )
    line = (
        f"{where}: best validation loss {record['best_val_loss']:.3f} at step {step} "
        f"of {record['steps']}"
    )
    references = record.get("references") or {}
    if references:
        line += "; on the same segments: " + ", ".join(
            f"{name} {value:.3f}" for name, value in references.items()
        )
    return line + " (lower is better)"


def data_fingerprint(data: str) -> str | None:
    """The demo generator's fingerprint (code + assets), so a record says exactly which demo data it saw."""
    if data != "demo":
        return None
    from dmc.datasets.demo import cache

    return cache.fingerprint()


def export(record: dict, run_dir: Path, destination: Path | None) -> None:
    """Copy ``best.pt`` to ``destination``; write ``<destination>.json`` (the run record, plus the
    step and validation of the shipped best model) and ``<destination>.png`` (the loss curves)."""
    if destination is None:
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "best.pt", destination)
    shipped = torch.load(destination, map_location="cpu", weights_only=True)["training"]
    record = {
        **record,
        "shipped_model": {
            "file": "best.pt",
            "step": shipped["steps"],
            "validation": shipped["final_validation"],
        },
    }
    destination.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    if (run_dir / "history.png").exists():
        shutil.copyfile(run_dir / "history.png", destination.with_suffix(".png"))
