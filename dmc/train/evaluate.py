"""``python -m dmc.train evaluate``: the consoles against the mono and random mixes on held-out songs.

For every song of a split, each method mixes the whole gain-staged song and its
sum/difference MR-STFT distance to the target mix is measured (the training loss, with
the reference resolutions). The methods are those :mod:`dmc.contracts.conditions` marks
``held_out`` (both consoles, when their checkpoints exist, and the mono and random
baselines), or ``--methods``; ``--checkpoint`` evaluates one console file instead of the
shipped ones. Prints Markdown tables (means and per-song wins, the stereo image, how far
each console's settings move, parameter recovery on the demo) and writes one CSV row per
(task, song, method). This is the model engineer's check; the full objective-metrics
table of the listening-test passages comes from ``dmc.render``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from dmc.cli import Parser, note
from dmc.contracts import conditions
from dmc.contracts.conditions import CONSOLE, CONSOLE_DSP, held_out_methods
from dmc.effects.params import CHANNEL_STRIP, TASKS
from dmc.losses import ReferencePanLoss, sum_difference_distance
from dmc.metrics import rl_levels_db, stereo_image_metrics
from dmc.mixers import MethodError, build_method, get_method
from dmc.mixers.console import load_console
from dmc.stereo_image import PanEstimate, fit_mix, mirror_drum_kit, one_sided
from dmc.train.cli import apply_smoke, staged_songs
from dmc.train.history import write_csv
from dmc.train.loop import TrainingError
from dmc.train.recovery import recovery_markdown, recovery_table, song_errors

#: The consoles: their parameters are reported (spread, recovery) beside their distances.
CONSOLES = (CONSOLE, CONSOLE_DSP)


def track_pan_error(pans: list[float], reference: PanEstimate) -> float:
    """Mirror-invariant mean distance of each track's pan from where the target put it
    (the training term :class:`dmc.losses.ReferencePanLoss`, on one song)."""
    rows = [np.asarray([values], dtype=np.float32) for values in (pans, reference.pans)]
    shares = reference.shares[None]
    return float(ReferencePanLoss()(*map(torch.from_numpy, rows), torch.from_numpy(shares)))


def choose_methods(
    task: str, names: list[str] | None, own: str | None
) -> tuple[list[str], list[str]]:
    """The methods to evaluate for ``task``, and notes on held-out methods left out.

    Default: the held-out methods that can run here (a console without its checkpoint is
    left out, with a note). ``own`` is the console a ``--checkpoint`` gives: it stands in
    for the console of its kind, and the other console is left out unless named.

    Raises:
        TrainingError: an unknown method, or one asked for that cannot run.
    """
    asked = names is not None
    if not asked:
        names = [
            name
            for name in held_out_methods()
            if name not in CONSOLES or own is None or name == own
        ]
    chosen, notes = [], []
    for name in names:
        try:
            spec = get_method(name)
        except MethodError as exc:
            raise TrainingError(str(exc)) from None
        reason = None if name == own else spec.unavailable(task)
        if reason is None:
            chosen.append(name)
        elif asked:
            raise TrainingError(reason)
        else:
            notes.append(f"{reason}; leaving it out")
    return chosen, notes


def evaluate_task(
    task: str,
    data: str,
    split: str,
    root: Path | None,
    checkpoint: Path | None,
    num_songs: int | None,
    device: str | None,
    console_params: dict[str, list] | None = None,
    names: bool = True,
    recovery: dict[str, dict] | None = None,
    methods: list[str] | None = None,
) -> list[dict]:
    """One row per (song, method) with the distance to the target.

    ``console_params``, when given, receives per console method the parameters of every
    track. ``names=False`` mixes without the track names, so a console with side hints
    gets none. ``recovery``, when given, receives per console method its absolute errors
    against the settings that made the target (``errors``) and those settings (``true``),
    for songs that record them (the demo's engineer).
    """
    fixed = {}
    if checkpoint is not None:
        console = load_console(task, checkpoint, device)
        fixed[console.name] = console
    chosen, notes = choose_methods(task, methods, next(iter(fixed), None))
    for line in notes:
        note("python -m dmc.train evaluate", line)
    for name in chosen:
        spec = get_method(name)
        if name not in fixed and not spec.seeded:
            fixed[name] = build_method(spec, task, device=device)
    rows = []
    for index, staged in enumerate(
        tqdm(staged_songs(data, [task], split, root, num_songs, False), desc=task)
    ):
        tracks, target = staged.tracks(), staged.target()
        target_lean = rl_levels_db(target, staged.sample_rate)["broadband"]
        fit = fit_mix(tracks, target, staged.sample_rate)
        reference = fit.pans()
        kit_mirrored = mirror_drum_kit(tracks, target, staged.roles, staged.sample_rate, fit)
        other_views = [] if kit_mirrored is None else [kit_mirrored]
        track_names = staged.song.track_names if names else None
        true = staged.song.metadata.get("engineer", {}).get("staged_settings")
        for name in chosen:
            mixer = fixed.get(name) or build_method(get_method(name), task, seed=index)
            result = mixer.mix(tracks, staged.sample_rate, track_names)
            audio = result.audio
            if name in CONSOLES and console_params is not None:
                console_params.setdefault(name, []).extend(result.params)
            if name in CONSOLES and recovery is not None and true is not None:
                found = recovery.setdefault(name, {"errors": {}, "true": []})
                for parameter, errors in song_errors(result.params, true, staged.roles).items():
                    found["errors"].setdefault(parameter, []).extend(errors)
                found["true"].extend(true)
            pans = [float(p.get("pan", 0.5)) for p in result.params]
            rows.append(
                {
                    "task": task,
                    "song_id": staged.song_id,
                    "method": name,
                    "sum_difference_mrstft": sum_difference_distance(audio, target),
                    "target_rl_level_db": target_lean,
                    **stereo_image_metrics(audio, target, staged.sample_rate, other_views),
                    "track_pan_error": track_pan_error(pans, reference),
                    "one_sided": one_sided(pans, staged.roles),
                }
            )
    return rows


STEREO_COLUMNS = {
    "rl_level_db": "R-L dB",
    "target_rl_level_db": "target R-L dB",
    "balance_error_db": "balance err dB",
    "balance_error_db_low": "low",
    "balance_error_db_mid": "mid",
    "balance_error_db_high": "high",
    "panning_error_mi_high": "pan err high",
    "panning_error_any_view_high": "pan err high, any kit view",
    "track_pan_error": "track pan err",
}


def stereo_markdown(rows: list[dict]) -> str:
    """Mean stereo-image figures per task and method (mirror-invariant errors; see dmc.metrics)."""
    lines = [
        "| task | method | "
        + " | ".join(STEREO_COLUMNS.values())
        + " | worst balance err dB | one-sided songs |",
        "| --- | --- |" + " ---: |" * (len(STEREO_COLUMNS) + 2),
    ]
    for task in dict.fromkeys(r["task"] for r in rows):
        for method in dict.fromkeys(r["method"] for r in rows if r["task"] == task):
            part = [r for r in rows if r["task"] == task and r["method"] == method]
            means = [np.mean([r[c] for r in part]) for c in STEREO_COLUMNS]
            worst = max(r["balance_error_db"] for r in part)
            cells = " | ".join(
                f"{v:+.2f}" if i < 2 else f"{v:.3f}" if "pan" in c else f"{v:.2f}"
                for i, (c, v) in enumerate(zip(STEREO_COLUMNS, means))
            )
            sided = sum(r["one_sided"] for r in part)
            lines.append(f"| {task} | {method} | {cells} | {worst:.2f} | {sided} of {len(part)} |")
    return "\n".join(lines)


#: Emulation cases: which effect groups are active (the others bypassed at their defaults).
EMULATION_CASES = {
    "eq": ("eq",),
    "compressor": ("compressor",),
    "reverb": ("reverb",),
    "all three": ("eq", "compressor", "reverb"),
    "none (neutral settings)": (),
}


def emulation_table(
    tcn_path: Path,
    data: str,
    root: Path | None,
    num_songs: int | None,
    items: int,
    seconds: float = 0.75,
    seed: int = 1,
) -> str:
    """Held-out emulation error of a TCN per active effect group, beside the untouched input."""

    from dmc.losses import EmulationLoss
    from dmc.pretrained import load_model
    from dmc.train.data import VAL_SEED_OFFSET, EffectTriples

    tcn = load_model(tcn_path)
    songs = staged_songs(data, ["drums", "full"], "val", root, num_songs, False)
    criterion = EmulationLoss()
    lines = [
        "| active effects | examples | TCN vs real chain | untouched input vs real chain |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, active in EMULATION_CASES.items():
        triples = EffectTriples(
            songs, round(seconds * tcn.sample_rate), seed=seed + VAL_SEED_OFFSET
        )
        triples.bypass = {g: float(g not in active) for g in ("eq", "compressor", "reverb")}
        stacked = triples.batch(range(items))  # chain targets: the same as item by item
        with torch.no_grad():
            out = tcn(stacked["input"], stacked["params"])
            error = float(criterion.spectral(out, stacked["target"]))
            baseline = float(criterion.spectral(stacked["input"], stacked["target"]))
        lines.append(f"| {name} | {items} | {error:.3f} | {baseline:.3f} |")
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    """Mean distance per task and method, and how many songs each system wins against each baseline."""
    lines = []
    for task in dict.fromkeys(r["task"] for r in rows):
        methods = list(dict.fromkeys(r["method"] for r in rows if r["task"] == task))
        by = {
            m: {
                r["song_id"]: r["sum_difference_mrstft"]
                for r in rows
                if r["task"] == task and r["method"] == m
            }
            for m in methods
        }
        songs = list(by[methods[0]])
        baselines = [m for m in methods if conditions.method(m).baseline]
        systems = [m for m in methods if m not in baselines]
        wins = [
            f"{sum(by[s][song] < by[b][song] for song in songs)}/{len(songs)}"
            for s in systems
            for b in baselines
        ]
        lines += [
            "| task | songs | "
            + " | ".join(methods)
            + "".join(f" | {s} beats {b}" for s in systems for b in baselines)
            + " |",
            "| --- | ---: |" + " ---: |" * (len(methods) + len(wins)),
            f"| {task} | {len(songs)} | "
            + " | ".join(f"{np.mean(list(by[m].values())):.3f}" for m in methods)
            + "".join(f" | {w}" for w in wins)
            + " |",
            "",
        ]
    return "\n".join(lines).rstrip()


def parameter_spread_markdown(
    task: str, params: list[dict[str, float]], engineer: list[dict[str, float]] | None = None
) -> str:
    """How far the console's settings move over a split's tracks, per parameter.

    A console whose effect parameters sit at their neutral values on every track has
    learnt nothing about that effect, however good its loss; the share of tracks set
    away from neutral (by more than 5 % of the range) says so at a glance. ``engineer``
    (the settings that made the targets, where the songs record them) adds the same
    spread for them, so "how far" reads against how far it should be.
    """
    space = CHANNEL_STRIP.subset([n for n in CHANNEL_STRIP.names if params and n in params[0]])
    header = f"| parameter ({task}, {len(params)} tracks) | neutral | min | median | max | tracks away from neutral |"
    rule = "| --- | ---: | ---: | ---: | ---: | ---: |"
    if engineer:
        header += " engineer's median (min to max) | engineer's away |"
        rule += " ---: | ---: |"
    lines = [header, rule]

    def spread(values: np.ndarray, parameter) -> tuple[str, str, str, str]:
        """``min, median, max, share away from neutral`` of one parameter's values, formatted."""
        away = np.abs(values - parameter.default) > 0.05 * (parameter.maximum - parameter.minimum)
        return (
            f"{values.min():.3g}",
            f"{np.median(values):.3g}",
            f"{values.max():.3g}",
            f"{away.mean():.0%}",
        )

    for parameter in space:
        values = np.array([p[parameter.name] for p in params])
        line = f"| {parameter.name} | {parameter.default:g} | {' | '.join(spread(values, parameter))} |"
        if engineer:
            true = np.array([t.get(parameter.name, parameter.default) for t in engineer])
            low, median, high, away = spread(true, parameter)
            line += f" {median} ({low} to {high}) | {away} |"
        lines.append(line)
    return "\n".join(lines)


def get_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m dmc.train evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", default="both", choices=(*TASKS, "both"))
    parser.add_argument(
        "--data", default="demo", help="demo, enst, medleydb or synthetic (default demo)"
    )
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--split", default="test")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="a console file to evaluate instead of the shipped console of its kind (one task only)",
    )
    parser.add_argument(
        "--methods",
        type=lambda text: [m.strip() for m in text.split(",") if m.strip()],
        default=None,
        help="methods, comma-separated (default: both consoles where their checkpoints exist, "
        "mono and random)",
    )
    parser.add_argument("--num-songs", type=int, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--csv",
        type=Path,
        default=Path("runs/evaluate.csv"),
        help="per-song results (and the consoles' parameter recovery beside it, as "
        "<name>_recovery.csv, for songs that record the settings of their targets)",
    )
    parser.add_argument(
        "--no-names",
        action="store_true",
        help="mix without the track names: how a console with side hints does on tracks "
        "whose names say no side",
    )
    parser.add_argument(
        "--tcn",
        type=Path,
        default=None,
        help="instead: this TCN's emulation error per effect group (val songs)",
    )
    parser.add_argument(
        "--items", type=int, default=32, help="examples per effect group with --tcn (default 32)"
    )
    return parser


def recovery_csv(path: Path) -> Path:
    """Where the parameter-recovery table goes beside the per-song CSV ``path``."""
    return path.with_name(f"{path.stem}_recovery{path.suffix}")


def main(argv: list[str] | None = None) -> list[dict]:
    args = get_parser().parse_args(argv)
    apply_smoke(args, "python -m dmc.train evaluate")  # DMC_SMOKE=1: 2 songs per task
    if args.num_songs is not None and args.num_songs < 1:
        raise TrainingError(f"--num-songs must be 1 or more, got {args.num_songs}")
    if args.tcn is not None:
        print(
            f"MR-STFT distance on held-out {args.data} val songs and settings (lower is better)\n"
        )
        print(emulation_table(args.tcn, args.data, args.root, args.num_songs, args.items))
        return []
    tasks = TASKS if args.task == "both" else (args.task,)
    if args.checkpoint is not None and len(tasks) > 1:
        raise TrainingError("--checkpoint holds one console: give --task drums or --task full")
    rows, params, recovered = [], {}, {}
    for task in tasks:
        params[task], recovered[task] = {}, {}
        rows += evaluate_task(
            task,
            args.data,
            args.split,
            args.root,
            args.checkpoint,
            args.num_songs,
            args.device,
            console_params=params[task],
            names=not args.no_names,
            recovery=recovered[task],
            methods=args.methods,
        )
    write_csv(args.csv, rows)
    tables = {
        (task, name): recovery_table(
            found["true"], {k: np.asarray(v) for k, v in found["errors"].items()}
        )
        for task in tasks
        for name, found in recovered[task].items()
    }
    recovery_rows = [
        {"task": task, "method": name, **row}
        for (task, name), table in tables.items()
        for row in table
    ]
    if recovery_rows:
        write_csv(recovery_csv(args.csv), recovery_rows)
    print(
        f"sum/difference MR-STFT distance to the target, {args.data} {args.split} split (lower is better)\n"
    )
    print(markdown(rows))
    print("\nstereo image (mirror-invariant errors; R-L > 0 leans right)\n")
    print(stereo_markdown(rows))
    for task in tasks:
        for name, settings in params[task].items():
            found = recovered[task].get(name)
            print(f"\n{name}: its settings over the {args.split} songs' tracks\n")
            engineer = found["true"] if found and len(found["true"]) == len(settings) else None
            print(parameter_spread_markdown(task, settings, engineer))
            if found:
                print(
                    f"\n{name}: parameter recovery over the {args.split} songs' tracks, its "
                    "settings against the engineer's that made the targets (real units; pans "
                    "mirror-invariant per group)\n"
                )
                print(recovery_markdown(task, tables[task, name]))
    return rows


if __name__ == "__main__":
    main()
