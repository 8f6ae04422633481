"""``python -m dmc.render testset``: its options, the plan of what to render, and the run.

With no options it renders the embedded demo test set of both tasks with every default
method into ``./renders/testset``. Every user mistake (an unknown task or method, a
missing dataset folder or checkpoint, a passage longer than a song, a loudness out of
range) is found before anything is rendered and reported as one line on stderr with exit
status 2. The rendering itself is :mod:`dmc.render.testset`.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from dmc.audio import AudioError
from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED, fail, note, smoke
from dmc.contracts.conditions import ANCHORS
from dmc.contracts.manifest import (
    DEFAULT_DATA,
    DEFAULT_PASSAGE_SECONDS,
    DEFAULT_SEED,
    DEFAULT_SPLIT,
    default_render_dir,
)
from dmc.contracts.policies import DEFAULT_TARGET_LUFS, LoudnessPolicy
from dmc.datasets import DATASETS, DatasetError, load_songs
from dmc.datasets.folder import folder_tasks
from dmc.effects.params import TASKS
from dmc.mixers import REGISTRY, MethodError, resolve_methods
from dmc.multitrack import Passage, Song, find_passages
from dmc.render.engine import PROG
from dmc.render.finish import torch_threads
from dmc.render.report import metrics_frame, summary_text, write_metrics
from dmc.render.testset import (
    RenderError,
    RenderResult,
    RenderSettings,
    TaskPlan,
    render_testset,
)
from dmc.render.workers import apply_smoke_caps, default_workers

#: Tasks each dataset holds, rendered when ``--task`` is not given.
DATASET_TASKS = {
    "demo": ("drums", "full"),
    "enst": ("drums",),
    "medleydb": ("full",),
    "folder": ("drums", "full"),
}


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m dmc.render testset`` (the subcommand's parser)."""
    parser.add_argument(
        "--task",
        type=_comma_list,
        default=None,
        help=f"task(s), comma-separated: {', '.join(TASKS)} (default: every task the data holds)",
    )
    parser.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help=f"dataset: {', '.join(DATASETS)} (default {DEFAULT_DATA}, the embedded demo multitracks)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="dataset folder (for --data enst, medleydb or folder: one subfolder per song, "
        "tracks named by role, optional mix.wav)",
    )
    parser.add_argument(
        "--split", default=DEFAULT_SPLIT, help=f"split to render (default {DEFAULT_SPLIT})"
    )
    parser.add_argument(
        "--methods",
        type=_comma_list,
        default=None,
        help="methods, comma-separated (default: console, mono, random, target, and "
        "console_dsp and, for drums, demucs once their checkpoints exist)",
    )
    parser.add_argument(
        "--anchors",
        action="store_true",
        help="also render the BS.1534-3 anchors (target low-passed at 3.5 and 7 kHz)",
    )
    parser.add_argument(
        "--passages",
        default=None,
        help="a number N (the first N passages per task) or comma-separated song or passage ids",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_PASSAGE_SECONDS,
        help=f"passage length in seconds (default {DEFAULT_PASSAGE_SECONDS:g})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"base seed of the random baseline (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--lufs",
        type=float,
        default=DEFAULT_TARGET_LUFS,
        help=f"integrated loudness of every stimulus, LUFS (default {DEFAULT_TARGET_LUFS:g}, EBU "
        "R128 as in the paper); stored in the manifest, so imports of other systems match it",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default ./renders/testset)"
    )
    parser.add_argument("--force", action="store_true", help="render again even what is up to date")
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="folder of console_<task>.pt, console_dsp_<task>.pt and demucs_drums.pt "
        "(default: the shipped dmc/checkpoints)",
    )
    parser.add_argument(
        "--device", default=None, help="torch device for the models (default: cuda if available)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that encode and measure while the models mix (default: none for a "
        "small render, else one per core, at most 4; 0: none)",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar"
    )


# ---------------------------------------------------------------------- validation


def _tasks(args) -> list[str]:
    if args.data not in DATASET_TASKS:
        raise RenderError(f"unknown dataset {args.data!r}; choose one of {', '.join(DATASETS)}")
    tasks = args.task or list(DATASET_TASKS[args.data])
    if args.data == "folder" and args.task is None and args.root is not None and args.root.is_dir():
        try:
            tasks = list(folder_tasks(args.root))
        except DatasetError as exc:
            raise RenderError(str(exc)) from None
    for task in tasks:
        if task not in TASKS:
            raise RenderError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
        if task not in DATASET_TASKS[args.data]:
            raise RenderError(
                f"--data {args.data} holds no {task!r} multitracks; use --task "
                f"{','.join(DATASET_TASKS[args.data])}"
            )
    return list(dict.fromkeys(tasks))


def _check_data(args) -> None:
    if args.data == "demo":
        if args.root is not None:
            raise RenderError("--root is only used with --data enst, medleydb or folder")
        return
    if args.root is None:
        raise RenderError(f"--data {args.data} needs --root PATH, the dataset's folder")
    if not args.root.is_dir():
        raise RenderError(f"dataset folder {args.root} does not exist")


def select_passages(
    songs: list[Song], seconds: float, selection: str | None
) -> list[tuple[Song, Passage]]:
    """One passage per song (its loudest ``seconds``), narrowed to ``selection``.

    Args:
        selection: None (all), a count ``N`` (the first N), or comma-separated song or
            passage ids (ids this data does not hold are ignored here: see :func:`plan`).

    Raises:
        RenderError: a passage longer than a song, a song without a loud enough window,
            or a bad count.
    """
    if not songs:
        raise RenderError("the dataset split holds no songs")
    wanted = None
    if selection is not None and selection.strip().isdigit():
        if int(selection) < 1:
            raise RenderError(f"--passages must be at least 1, got {int(selection)}")
        songs = songs[: int(selection)]
    elif selection is not None:
        wanted = set(_comma_list(selection))
        songs = [
            s
            for s in songs
            if s.song_id in wanted or any(w.startswith(f"{s.song_id}@") for w in wanted)
        ]
    chosen = []
    for song in songs:
        try:
            passage = find_passages(song, seconds, count=1)[0]
        except ValueError as exc:
            raise RenderError(str(exc)) from None
        if wanted is None or song.song_id in wanted or passage.passage_id in wanted:
            chosen.append((song, passage))
    return chosen


def loudness_policy(args) -> LoudnessPolicy:
    """The loudness policy ``--lufs`` asks for; raises RenderError for one out of range."""
    try:
        return LoudnessPolicy(target_lufs=args.lufs)
    except ValueError as exc:
        raise RenderError(f"--lufs: {exc}") from None


def plan(args) -> tuple[list[TaskPlan], list[str]]:
    """Validate everything and load the data: the task plans, and notes for the user."""
    if not args.seconds > 0:
        raise RenderError(f"--seconds must be positive, got {args.seconds}")
    loudness_policy(args)
    if args.checkpoints is not None and not args.checkpoints.is_dir():
        raise RenderError(f"checkpoint folder {args.checkpoints} does not exist")
    if args.workers is not None and args.workers < 0:
        raise RenderError(f"--workers must be 0 or more, got {args.workers}")
    tasks = _tasks(args)
    resolved = {}
    notes: list[str] = []
    for task in tasks:
        specs, skipped = resolve_methods(
            task,
            _methods_for(task, args.methods, tasks, notes),
            anchors=args.anchors,
            checkpoint_dir=args.checkpoints,
        )
        resolved[task] = specs
        notes += skipped
    _check_data(args)
    plans, all_songs = [], []
    for task in tasks:
        try:
            songs = load_songs(
                args.data, task, args.split, root=args.root, **_only_first(args, task)
            )
        except (DatasetError, AudioError) as exc:
            raise RenderError(str(exc)) from None
        all_songs += songs
        if not songs and args.data == "folder":
            raise RenderError(
                f"{args.root} holds no {task!r} songs (a song is 'drums' when every track has a drum "
                f"role, else 'full'); use --task {','.join(folder_tasks(args.root))}"
            )
        passages = select_passages(songs, args.seconds, args.passages)
        resolved[task] = _without_reference(
            task, resolved[task], [s for s, _ in passages], args, notes
        )
        for spec in resolved[task]:
            for song, _ in passages:
                try:
                    spec.check_roles(song.roles)
                except ValueError as exc:
                    raise RenderError(
                        f"method {spec.name!r} cannot mix song {song.song_id!r}: {exc}"
                    ) from None
        plans.append(TaskPlan(task, passages, resolved[task]))
    if args.passages is not None and not args.passages.strip().isdigit():
        found = {
            i
            for p in plans
            for song, passage in p.passages
            for i in (song.song_id, passage.passage_id)
        }
        missing = [w for w in _comma_list(args.passages) if w not in found]
        if missing:
            raise RenderError(
                f"unknown passage or song id(s) {', '.join(missing)}; "
                f"songs: {', '.join(sorted(s.song_id for s in all_songs))}"
            )
    plans = [p for p in plans if p.passages]  # ids of one task leave the other task out
    return plans, notes


def _methods_for(
    task: str, names: list[str] | None, tasks: list[str], notes: list[str]
) -> list[str] | None:
    """``--methods`` for one of several tasks: a method that mixes only the other task
    (``demucs`` is drums only) is rendered where it serves, as the defaults are, with a
    note; one that serves none of the tasks stays in, for :func:`resolve_methods` to refuse.
    Without this no single command could render explicit methods into a render of both
    tasks, and rendering one task at a time would replace the other's conditions."""
    if names is None or len(tasks) < 2:
        return names
    kept = []
    for name in names:
        spec = REGISTRY.get(name)
        if spec is None or task in spec.tasks or not set(tasks) & set(spec.tasks):
            kept.append(name)
        else:
            notes.append(f"task {task}: {name} does not mix it (it serves {', '.join(spec.tasks)})")
    if not kept:
        raise RenderError(
            f"none of --methods {','.join(names)} mixes task {task!r}; add one that does, "
            f"or render --task {','.join(t for t in tasks if t != task)}"
        )
    return kept


def _only_first(args, task: str) -> dict:
    """``num_songs`` for the demo loader when ``--passages N`` uses only the first N songs,
    so that only those are generated."""
    count = (args.passages or "").strip()
    if args.data != "demo" or not count.isdigit() or int(count) < 1:
        return {}
    from dmc.datasets.demo import SPLIT_SIZES

    size = SPLIT_SIZES.get(task, {}).get(args.split)
    return {"num_songs": min(int(count), size)} if size else {}


#: What ``DMC_SMOKE=1`` caps in ``testset`` (:func:`dmc.cli.smoke`): three short passages per task
#: (as few as a strict BS.1534-3 design of 6 trials per rater accepts).
SMOKE_PASSAGES, SMOKE_SECONDS = 3, 2.0


def _apply_smoke(args) -> None:
    """``DMC_SMOKE=1``: at most :data:`SMOKE_PASSAGES` passages of :data:`SMOKE_SECONDS`."""
    apply_smoke_caps(args, SMOKE_PASSAGES, SMOKE_SECONDS)


def _without_reference(task: str, specs: list, songs: list[Song], args, notes: list[str]) -> list:
    """Leave out (by default) or refuse (when asked for) the methods made from the target
    (``target``, the anchors) when a song has no reference mix (``--data folder``)."""
    lacking = [s.song_id for s in songs if s.target is None]
    derived = [s.name for s in specs if s.source == "target"]
    if not lacking or not derived:
        return specs
    which = f"{lacking[0]!r}" + (
        f" and {len(lacking) - 1} other song(s)" if len(lacking) > 1 else ""
    )
    asked = [n for n in derived if n in (args.methods or ()) or (args.anchors and n in ANCHORS)]
    if asked:
        raise RenderError(
            f"{', '.join(asked)} need(s) a reference mix, which {which} lack(s): put mix.wav in the "
            "song's folder, or leave them out of --methods and --anchors"
        )
    notes.append(
        f"task {task}: {which} without a reference mix: rendering no {', '.join(derived)} "
        "(rate it with reference: none in the test config); metrics need a target and are left empty"
    )
    kept = [s for s in specs if s.source != "target"]
    if not kept:
        raise RenderError(
            f"task {task}: nothing to render without a reference mix; name systems with --methods"
        )
    return kept


# ---------------------------------------------------------------------- main


def render(args, plans: list[TaskPlan]) -> RenderResult:
    """Render ``plans`` as ``args`` say, then write ``metrics.csv`` and ``metrics.png``
    (:func:`dmc.render.report.write_metrics`: no plot without a target).

    Raises:
        RenderError: a method cannot be loaded or a passage cannot be rendered.
    """
    out_dir = args.out if args.out is not None else default_render_dir()
    settings = RenderSettings(
        seconds=args.seconds,
        loudness=loudness_policy(args),
        seed=args.seed,
        device=args.device,
        checkpoint_dir=args.checkpoints,
    )
    workers = args.workers
    if workers is None:
        workers = default_workers(sum(len(p.passages) * len(p.methods) for p in plans))
    # the models mix here while the workers encode: share the cores instead of oversubscribing them
    with torch_threads(max(1, (os.cpu_count() or 1) - workers)):
        result = render_testset(
            plans,
            out_dir,
            settings,
            force=args.force,
            progress=args.progress,
            workers=workers,
            extra_settings={
                "data": args.data,
                "split": args.split,
                "anchors": args.anchors,
                # with the rest, what `python -m evaluation.design` needs to say how to render again
                "passages": args.passages,
                # so `python -m dmc.render import` can score against the same lossless targets
                "root": str(args.root.resolve()) if args.root is not None else None,
            },
        )
    write_metrics(result.manifest, out_dir)
    return result


def run(args: argparse.Namespace) -> int:
    """``python -m dmc.render testset`` with parsed ``args``; returns the exit status."""
    started = time.perf_counter()
    if smoke():
        _apply_smoke(args)
    try:
        plans, notes = plan(args)
    except (RenderError, MethodError) as exc:
        return fail(PROG, str(exc), EXIT_BAD_INPUT)
    for line in notes:
        note(PROG, line)
    try:
        result = render(args, plans)
    except RenderError as exc:
        return fail(PROG, str(exc), EXIT_FAILED)
    out_dir = result.manifest_path.parent
    if result.dropped_imports:
        note(
            PROG,
            f"imported system(s) dropped, their passage changed: "
            f"{'; '.join(result.dropped_imports[:5])}; import them again with `python -m dmc.render import`",
        )
    frame = metrics_frame(result.manifest)
    print(summary_text(frame))
    plot = "no plot: no target to measure against" if frame.empty else "plot: metrics.png"
    print(
        f"\n{result.rendered} rendered, {result.skipped} up to date, {result.removed} stale removed "
        f"in {time.perf_counter() - started:.1f} s\nmanifest: {result.manifest_path}\n"
        f"metrics:  {out_dir / 'metrics.csv'} ({plot})"
    )
    return 0
