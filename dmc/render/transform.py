"""``python -m dmc.render transform``: the emulation table of the paper's demo page, as a listening test.

For every passage (:mod:`dmc.render.emulation`: A-F, clean held-out sources, random
chain settings) five conditions: ``input`` (the clean passage), ``target`` (the real
EQ -> compressor -> reverb, :func:`dmc.effects.chain.process_channel`) and ``tcn10``,
``tcn20``, ``tcn30`` (each trained transformation network run on the input with the
same settings, as :class:`dmc.nn.effects.NeuralEffects` runs it in the console). Each
is finished like a test-set condition (:func:`dmc.render.finish.finish_condition`:
-23 LUFS, VBR MP3 under an opaque name, measured after decoding) and listed in a
manifest of one task, ``emulation``, so the web app can run it as a MUSHRA test with
``target`` as the reference. ``metrics.csv`` scores every condition against the target;
``params.json`` gives each passage's settings in real units.

Re-running skips every condition whose inputs, settings and checkpoint are unchanged
and whose file still has its recorded hash; the manifest is saved after every passage.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import dmc
from dmc.audio import AudioError
from dmc.checkpoint import CheckpointError
from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail, note, smoke
from dmc.contracts.files import atomic_write
from dmc.contracts.manifest import Manifest
from dmc.datasets import DatasetError, load_songs, load_sources
from dmc.metrics import METRIC_NAMES
from dmc.nn.effects import NeuralEffects
from dmc.nn.tcn import PRESETS, TCN
from dmc.pretrained import CHECKPOINT_DIR, load_model
from dmc.render.emulation import LABELS, TASK, Source, iter_sources
from dmc.render.engine import PROG
from dmc.render.finish import torch_threads
from dmc.render.table import TableResult, render_table
from dmc.render.testset import RenderError
from dmc.render.workers import apply_smoke_caps, default_workers

DATA = ("demo", "signaltrain")
DEFAULT_PASSAGES = 6
#: What ``DMC_SMOKE=1`` caps (:func:`dmc.cli.smoke`): one short passage.
SMOKE_PASSAGES, SMOKE_SECONDS = 1, 2.0
DEFAULT_OUT = Path("renders") / "transform"

#: ``metrics.csv``: who is who, then the TCN's own emulation error, then the test-set metrics.
ID_COLUMNS = ("task", "label", "passage_id", "song_id", "track", "role", "method", "file")
METRIC_COLUMNS = ("mrstft", *METRIC_NAMES)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m dmc.render transform`` (the subcommand's parser)."""
    parser.add_argument(
        "--data",
        default="demo",
        help="demo (default: the demo test split's clean tracks) "
        "or signaltrain (the Test folder of SignalTrain LA2A, with --root)",
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="dataset folder (for --data signaltrain)"
    )
    parser.add_argument(
        "--tcns",
        default=None,
        help=f"networks, comma-separated, of {','.join(PRESETS)} "
        "(default: each one whose checkpoint exists)",
    )
    parser.add_argument(
        "--passages",
        default=None,
        help=f"a number N (the first N of the table; default {DEFAULT_PASSAGES}) or "
        "comma-separated labels (A,C) or passage ids",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="passage length in seconds (default 10)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="base seed of the chain settings (default 0)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default ./renders/transform)"
    )
    parser.add_argument("--force", action="store_true", help="render again even what is up to date")
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="folder of tcn10.pt, tcn20.pt, tcn30.pt (default: the shipped dmc/checkpoints)",
    )
    parser.add_argument(
        "--device", default=None, help="torch device for the TCNs (default: cuda if available)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that encode and measure while the TCNs run (default 1; 0: none)",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar"
    )


# ---------------------------------------------------------------------- validation


@dataclass
class Plan:
    """Everything validated and loaded: the rows of the table and the networks."""

    sources: list[Source]
    checkpoints: dict[str, Path]
    models: dict[str, NeuralEffects] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _tcn_names(text: str) -> list[str]:
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in PRESETS]
    if unknown or not names:
        raise RenderError(
            f"unknown TCN preset {(unknown or [text])[0]!r} in --tcns; choose from {', '.join(PRESETS)}"
        )
    return names


def _songs(args) -> list:
    if args.data not in DATA:
        raise RenderError(
            f"unknown dataset {args.data!r} for the emulation table; choose one of {', '.join(DATA)}"
        )
    try:
        if args.data == "demo":
            if args.root is not None:
                raise RenderError("--root is only used with --data signaltrain")
            return load_songs("demo", "full", "test")
        if args.root is None:
            raise RenderError("--data signaltrain needs --root PATH, the SignalTrain LA2A folder")
        return load_sources("signaltrain", "test", args.root, sample_rate=dmc.SAMPLE_RATE)
    except (DatasetError, AudioError) as exc:
        raise RenderError(str(exc)) from None


def _select(songs, seconds: float, selection: str | None) -> list[Source]:
    """The rows ``--passages`` names: the first N, or labels and passage ids (in table order)."""
    try:
        rows = iter_sources(songs, seconds)
        if selection is None or selection.strip().isdigit():
            count = DEFAULT_PASSAGES if selection is None else int(selection)
            if not 1 <= count <= len(LABELS):
                raise RenderError(f"--passages must be from 1 to {len(LABELS)}, got {count}")
            chosen = [row for _, row in zip(range(count), rows)]
            if len(chosen) < count:
                raise RenderError(
                    f"the data holds only {len(chosen)} usable sources; ask for --passages {len(chosen)}"
                )
            return chosen
        wanted = [w.strip() for w in selection.split(",") if w.strip()]
        wanted = [w.upper() if len(w) == 1 else w for w in wanted]
        # a passage id names a track of a song held here (<song>.<track>@<start>s): anything else is
        # refused at once, without searching every track for it
        tracks = {f"{song.song_id}.{track.name}" for song in songs for track in song.tracks}
        missing = [w for w in wanted if w not in LABELS and w.rsplit("@", 1)[0] not in tracks]
        chosen = []
        if not missing:
            for row in rows:
                if row.label in wanted or row.passage_id in wanted:
                    chosen.append(row)
                if len(chosen) == len(wanted):
                    break
            found = {key for row in chosen for key in (row.label, row.passage_id)}
            missing = [w for w in wanted if w not in found]
        if missing:
            first = next(iter_sources(songs, seconds), None)
            example = f" such as {first.passage_id}" if first is not None else ""
            raise RenderError(
                f"unknown passage(s) {', '.join(missing)}; use labels A, B, ... or passage ids"
                f" <song>.<track>@<start>s{example}"
            )
        return chosen
    except ValueError as exc:
        raise RenderError(str(exc)) from None


def _device(name: str | None) -> torch.device:
    """``--device``, or cuda when there is one; refuses a device this machine lacks."""
    try:
        device = torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError:
        raise RenderError(f"unknown --device {name!r}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RenderError(
            f"--device {name} asks for CUDA, which this machine does not have; use cpu"
        )
    return device


def plan(args) -> Plan:
    """Validate everything and load the data and networks; nothing is written."""
    if not args.seconds > 0:
        raise RenderError(f"--seconds must be positive, got {args.seconds}")
    if args.workers is not None and args.workers < 0:
        raise RenderError(f"--workers must be 0 or more, got {args.workers}")
    if args.checkpoints is not None and not args.checkpoints.is_dir():
        raise RenderError(f"checkpoint folder {args.checkpoints} does not exist")
    folder = args.checkpoints if args.checkpoints is not None else CHECKPOINT_DIR
    notes = []
    if args.tcns is None:  # the networks there are; the others are named, not required
        every = {name: folder / f"{name}.pt" for name in PRESETS}
        checkpoints = {name: path for name, path in every.items() if path.is_file()}
        absent = [name for name in every if name not in checkpoints]
        if absent and checkpoints:
            notes.append(
                f"no checkpoint for {', '.join(absent)} in {folder}: rendering "
                f"{', '.join(checkpoints)} (make one with `python -m dmc.train transform "
                f"--preset {absent[0]} --export {every[absent[0]]}`)"
            )
        checkpoints = checkpoints or every  # none at all: the error below names them
    else:
        checkpoints = {name: folder / f"{name}.pt" for name in _tcn_names(args.tcns)}
    for name, path in checkpoints.items():
        if not path.is_file():
            raise RenderError(
                f"TCN {name!r} needs the checkpoint {path}, which does not exist (train it with "
                f"`python -m dmc.train transform --preset {name} --export {path}`, or leave it out "
                "with --tcns)"
            )
    if args.data == "signaltrain" and args.root is not None and not args.root.is_dir():
        raise RenderError(f"dataset folder {args.root} does not exist")
    device = _device(args.device)
    result = Plan(_select(_songs(args), args.seconds, args.passages), checkpoints, notes=notes)
    for name, path in checkpoints.items():
        try:
            model = load_model(path, device=device)
        except CheckpointError as exc:
            raise RenderError(str(exc)) from None
        if not isinstance(model, TCN):
            raise RenderError(
                f"{path} holds a {type(model).__name__}, not a TCN; pass a transformation network"
            )
        try:
            result.models[name] = NeuralEffects(model)
        except ValueError as exc:
            raise RenderError(f"{path}: {exc}") from None
    return result


# ---------------------------------------------------------------------- main


def metrics_rows(manifest: Manifest, params: dict) -> list[dict]:
    """One row per passage and condition: ids, then :data:`METRIC_COLUMNS` (smaller is better)."""
    rows = []
    for entry in manifest.tasks.get(TASK, []):
        record = params.get("passages", {}).get(entry.passage_id, {})
        for condition in entry.conditions:
            metrics = condition.extra.get("metrics") or {}
            rows.append(
                {
                    "task": TASK,
                    "label": record.get("label", ""),
                    "passage_id": entry.passage_id,
                    "song_id": entry.song_id,
                    "track": record.get("track", ""),
                    "role": record.get("role", ""),
                    "method": condition.method,
                    "file": condition.file,
                    **{name: metrics.get(name, float("nan")) for name in METRIC_COLUMNS},
                }
            )
    return rows


def write_metrics_csv(manifest: Manifest, params: dict, path: Path) -> Path:
    """Write :func:`metrics_rows` as CSV through a temporary file."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, [*ID_COLUMNS, *METRIC_COLUMNS])
            writer.writeheader()
            for row in metrics_rows(manifest, params):
                writer.writerow(
                    {k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}
                )

    return atomic_write(path, write)
    return path


#: The columns the printed table shows: the TCN's own error, and the one at equal loudness.
SUMMARY = {
    "mrstft": "MR-STFT against the target at the level the TCN works at",
    "sd_mrstft": "MR-STFT against the target at equal loudness (as the listener hears them)",
}


def summary_text(result: TableResult) -> str:
    """The table as text: one row per passage and condition, for each :data:`SUMMARY` column."""
    rows = metrics_rows(result.manifest, result.params)
    methods = list(dict.fromkeys(row["method"] for row in rows))
    blocks = []
    for column, title in SUMMARY.items():
        table: dict[str, dict] = {}
        for row in rows:
            table.setdefault(row["passage_id"], {"row": row})[row["method"]] = row[column]
        lines = [
            f"{title} (smaller is better)",
            f"{'':3}{'track':<22}" + "".join(f"{m:>9}" for m in methods),
        ]
        for values in table.values():
            name = f"{values['row']['track']} ({values['row']['role']})"[:21]
            cells = "".join(f"{values.get(m, float('nan')):9.3f}" for m in methods)
            lines.append(f"{values['row']['label']:3}{name:<22}{cells}")
        if table:
            means = [np.nanmean([v.get(m, np.nan) for v in table.values()]) for m in methods]
            lines.append(f"{'':3}{'mean':<22}" + "".join(f"{v:9.3f}" for v in means))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _apply_smoke(args) -> None:
    """``DMC_SMOKE=1``: at most :data:`SMOKE_PASSAGES` passages of :data:`SMOKE_SECONDS`."""
    apply_smoke_caps(args, SMOKE_PASSAGES, SMOKE_SECONDS)


def run(args: argparse.Namespace) -> int:
    """``python -m dmc.render transform`` with parsed ``args``; returns the exit status."""
    started = time.perf_counter()
    if smoke():
        _apply_smoke(args)
    try:
        chosen = plan(args)
    except RenderError as exc:
        return fail(PROG, str(exc), EXIT_BAD_INPUT)
    for line in chosen.notes:
        note(PROG, line)
    out_dir = args.out if args.out is not None else Path.cwd() / DEFAULT_OUT
    workers = args.workers
    if workers is None:  # one worker keeps up: the networks, not the encoding, take the time
        workers = min(1, default_workers(len(chosen.sources) * (2 + len(chosen.models))))
    try:
        with torch_threads(os.cpu_count() or 1):  # so they get every core
            result = render_table(
                chosen.sources,
                chosen.models,
                chosen.checkpoints,
                out_dir,
                args.seconds,
                seed=args.seed,
                force=args.force,
                progress=args.progress,
                workers=workers,
                extra_settings={"data": args.data, "split": "test"},
            )
    except RenderError as exc:
        return fail(PROG, str(exc), EXIT_FAILED)
    write_metrics_csv(result.manifest, result.params, out_dir / "metrics.csv")
    print(summary_text(result))
    print(
        f"\n{result.rendered} rendered, {result.skipped} up to date, {result.removed} stale removed "
        f"in {time.perf_counter() - started:.1f} s\nmanifest: {result.manifest_path}\n"
        f"metrics:  {out_dir / 'metrics.csv'}, settings: {out_dir / 'params.json'}"
    )
    return EXIT_OK
