"""``python -m dmc.render import``: add an outside system's mixes to a rendered test.

    python -m dmc.render import --method NAME --from DIR [--out RENDER_DIR] [--partial] [--force]
    python -m dmc.render import --remove NAME [--out RENDER_DIR]

A listening test is only useful if it can hold *your* system: a new model, a commercial
auto-mixer, an engineer's mix. Files in DIR are matched to the render's passages by name:
``<passage_id>.<ext>`` is the passage itself, ``<song_id>.<ext>`` a mix of the whole
song, cut to each of its passages' windows (``manifest.json`` lists both ids). Any format
:func:`dmc.decode.read_any_audio` reads. Every file is checked before anything is written
(:mod:`dmc.render.intake`: its length within ``--tolerance`` of the passage, mono or
stereo, finite, not silent), then finished exactly like the built-in conditions
(:func:`dmc.render.finish.finish_condition`: -23 LUFS, true-peak limit, VBR MP3 under an
opaque name, measured after decoding) and scored against the passage's target. The
manifest, ``metrics.csv`` and ``metrics.png`` are then replaced atomically; a failure on
the way leaves the render as it was.

Metrics compare an imported system with the same lossless target the built-in methods
were scored against, reloaded from the dataset the manifest names; where that data
cannot be read, with the decoded target MP3, which is no fair stand-in for the MR-STFT
distance (:mod:`dmc.render.references`; each condition records which it got).

Re-importing the same files is a no-op (each condition records the hash of its source
file, its window and the target it was scored against); other files for a system already
there are refused unless ``--force`` replaces the system. Re-rendering the test set keeps
imported systems (:class:`dmc.render.testset._Renderer`).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from tqdm import tqdm

from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail, note
from dmc.contracts.conditions import REFERENCE, check_method_name, sort_methods
from dmc.contracts.manifest import Manifest, ManifestError, default_render_dir, load_manifest
from dmc.contracts.policies import LoudnessPolicy
from dmc.render.emulation import TASK as EMULATION_TASK
from dmc.render.engine import PROG, Engine, RenderError
from dmc.render.finish import FinishError, normalized_reference
from dmc.render.intake import DEFAULT_TOLERANCE_SECONDS, ImportRefused, Item, prepare
from dmc.render.naming import AUDIO_FOLDER, OPAQUE_NAME
from dmc.render.report import metrics_frame, summary_text, write_metrics
from dmc.render.workers import default_workers, make_pool

#: Bump when a change to importing makes earlier imports stale.
IMPORT_VERSION = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m dmc.render import`` (the subcommand's parser)."""
    parser.add_argument(
        "--method", metavar="NAME", default=None, help="name of the system: a lowercase identifier"
    )
    parser.add_argument(
        "--from", dest="source", metavar="DIR", type=Path, default=None,
        help="folder of its mixes: <passage_id>.<ext> or <song_id>.<ext>, any audio format",
    )  # fmt: skip
    parser.add_argument(
        "--out",
        metavar="RENDER_DIR",
        type=Path,
        default=None,
        help="the rendered test (default ./renders/testset)",
    )
    parser.add_argument(
        "--task",
        metavar="TASKS",
        default=None,
        help="import into these tasks only, comma-separated (default all)",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="allow passages without a file (they lack the system)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the system if it is already there"
    )
    parser.add_argument(
        "--remove", metavar="NAME", default=None, help="take an imported system out (its files too)"
    )
    parser.add_argument(
        "--tolerance", metavar="SECONDS", type=float, default=DEFAULT_TOLERANCE_SECONDS,
        help=f"how far (s) a file may be longer or shorter than its passage (default {DEFAULT_TOLERANCE_SECONDS})",
    )  # fmt: skip
    parser.add_argument(
        "--workers", metavar="N", type=int, default=None,
        help="processes that encode and measure (default: none for up to 12 passages, else one per core)",
    )  # fmt: skip
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar"
    )


def _load(out_dir: Path) -> Manifest:
    try:
        manifest = load_manifest(out_dir)
    except ManifestError as exc:
        raise ImportRefused(str(exc)) from None
    if EMULATION_TASK in manifest.tasks:
        raise ImportRefused(
            f"{out_dir} holds the emulation table; import adds systems to a test set "
            "(python -m dmc.render testset)"
        )
    if not manifest.settings.get("name_key"):
        raise ImportRefused(f"{out_dir}/manifest.json has no settings.name_key; render it again")
    return manifest


def _key_parts(item: Item, method: str, loudness: LoudnessPolicy) -> tuple:
    """What an imported condition's up-to-date check hashes: the file, its window, the
    render's loudness policy and the target it was scored against."""
    target = next((c.sha256 for c in item.entry.conditions if c.method == REFERENCE), None)
    return (
        IMPORT_VERSION, method, item.source_sha256, item.window, item.entry.start_seconds,
        item.entry.length_seconds, item.sample_rate, loudness.key(), target, item.reference_kind,
    )  # fmt: skip


def _conflicts(
    engine: Engine, manifest: Manifest, method: str, items: list[Item], force: bool
) -> list[Item]:
    """The items to (re)make; refuses a name that is no imported system, or other files without --force."""
    existing = [
        (t, e, c)
        for t, es in manifest.tasks.items()
        for e in es
        for c in e.conditions
        if c.method == method
    ]
    rendered = [f"{t} {e.passage_id}" for t, e, c in existing if not c.extra.get("imported")]
    if rendered:
        raise ImportRefused(
            f"{method!r} is a rendered condition of this test ({rendered[0]}), not an imported system; choose another name"
        )
    todo, changed = [], []
    for item in items:
        old = next((c for c in item.entry.conditions if c.method == method), None)
        if old is not None and old.extra.get("input_key") == item.key and engine.intact(old):
            continue
        if old is not None and old.extra.get("input_key") != item.key:
            changed.append(item.entry.passage_id)
        todo.append(item)
    if changed and not force:
        raise ImportRefused(
            f"system {method!r} is already imported from other files or settings for {len(changed)} passage(s) "
            f"(first: {changed[0]}); --force replaces it, --remove {method} takes it out"
        )
    return todo


def _reference(item: Item, loudness: LoudnessPolicy):
    """The passage's target at the render's loudness (:mod:`dmc.render.references`); None without one."""
    if item.target is None:
        return None
    return normalized_reference(item.target, item.sample_rate, loudness)


def import_system(
    manifest: Manifest, method: str, items: list[Item], force: bool, workers, progress: bool
):
    """Finish every item that is not up to date and record it; returns ``(imported, up to date, removed)``.

    Every file is finished into a temporary name first and moved into place only when all
    of them are, so a failure leaves the render as it was.

    Raises:
        ImportRefused: a clash with a rendered condition, or other files without ``force``.
        RenderError: a file could not be finished (the render is left as it was).
    """
    engine = Engine.on(manifest)
    loudness = manifest.loudness
    jobs = {}
    for item in items:
        job = engine.job(
            item.task, item.entry.passage_id, method, *_key_parts(item, method, loudness)
        )
        job.extra = {"has_params": False, "imported": item.record()}
        item.key, item.file, jobs[id(item)] = job.key, job.file, job
    todo = _conflicts(engine, manifest, method, items, force)
    root = manifest.root
    temporary = {id(i): root / AUDIO_FOLDER / f".import-{Path(i.file).stem}.mp3" for i in todo}
    workers = default_workers(len(todo)) if workers is None else workers
    try:
        with make_pool(workers) as pool:
            for item in todo:
                engine.submit(
                    pool,
                    jobs[id(item)],
                    item.audio,
                    item.sample_rate,
                    loudness,
                    _reference(item, loudness),
                    path=temporary[id(item)],
                )
            for item in tqdm(todo, desc=f"import {method}", unit="passage", disable=not progress):
                engine.complete(jobs[id(item)], f"{item.task} passage {item.entry.passage_id}")
        for item in todo:
            os.replace(temporary[id(item)], root / item.file)
    finally:
        for path in temporary.values():
            path.unlink(missing_ok=True)
    for item in todo:
        condition = jobs[id(item)].done
        conditions = item.entry.conditions
        index = next((k for k, c in enumerate(conditions) if c.method == method), None)
        if index is None:
            conditions.append(condition)
        else:
            conditions[index] = condition
    removed = 0
    if force:  # the system is replaced: passages without a file now lose it
        wanted = {(i.task, i.entry.passage_id) for i in items}
        removed = _drop(manifest, method, keep=wanted)
    return len(todo), len(items) - len(todo), removed


def _drop(manifest: Manifest, method: str, keep: set[tuple[str, str]] = frozenset()) -> int:
    """Remove ``method`` from every passage not in ``keep`` (and its files); returns the count."""
    files = []
    for task, entries in manifest.tasks.items():
        for entry in entries:
            if (task, entry.passage_id) in keep:
                continue
            files += [c.file for c in entry.conditions if c.method == method]
            entry.conditions[:] = [c for c in entry.conditions if c.method != method]
    for name in files:
        if OPAQUE_NAME.match(name):
            manifest.path_of(name).unlink(missing_ok=True)
    return len(files)


def remove_system(manifest: Manifest, method: str) -> int:
    """Take an imported system out of the manifest and delete its files; returns the condition count.

    Raises:
        ImportRefused: no such system, or a rendered (not imported) condition.
    """
    found = [
        c for es in manifest.tasks.values() for e in es for c in e.conditions if c.method == method
    ]
    if not found:
        imported = sort_methods(
            c.method
            for es in manifest.tasks.values()
            for e in es
            for c in e.conditions
            if c.extra.get("imported")
        )
        raise ImportRefused(
            f"no system {method!r} in {manifest.root}; imported systems: {', '.join(imported) or 'none'}"
        )
    if any(not c.extra.get("imported") for c in found):
        raise ImportRefused(
            f"{method!r} is rendered by `python -m dmc.render testset`, not imported; "
            "render again with --methods without it"
        )
    return _drop(manifest, method)


def write_outputs(manifest: Manifest) -> None:
    """The manifest, then ``metrics.csv`` and ``metrics.png`` from it (each atomically)."""
    manifest.save(manifest.root / "manifest.json")
    write_metrics(manifest, manifest.root)


def _tasks(manifest: Manifest, text: str | None) -> list[str]:
    if text is None:
        return list(manifest.tasks)
    tasks = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in manifest.tasks]
    if unknown or not tasks:
        raise ImportRefused(
            f"unknown task {(unknown or [text])[0]!r}; the render has {', '.join(manifest.tasks)}"
        )
    return tasks


def run(args: argparse.Namespace) -> int:
    """``python -m dmc.render import`` with parsed ``args``; returns the exit status."""
    started = time.perf_counter()
    out_dir = args.out if args.out is not None else default_render_dir()
    try:
        if (args.method is None) == (args.remove is None):
            raise ImportRefused(
                "give --method NAME --from DIR to import a system, or --remove NAME to take one out"
            )
        if args.workers is not None and args.workers < 0:
            raise ImportRefused(f"--workers must be 0 or more, got {args.workers}")
        manifest = _load(out_dir)
        if args.remove is not None:
            count = remove_system(manifest, args.remove)
            write_outputs(manifest)
            print(
                f"removed {args.remove!r}: {count} condition(s) and their files\nmanifest: {manifest.root / 'manifest.json'}"
            )
            return EXIT_OK
        try:
            method = check_method_name(args.method, allow_built_in=False)
        except ValueError as exc:
            raise ImportRefused(str(exc)) from None
        if args.source is None:
            raise ImportRefused("--method needs --from DIR, the folder of the system's mixes")
        items, notes = prepare(
            manifest, _tasks(manifest, args.task), args.source, args.tolerance, args.partial
        )
        imported, current, dropped = import_system(
            manifest, method, items, args.force, args.workers, args.progress
        )
    except ImportRefused as exc:
        return fail(PROG, str(exc), EXIT_BAD_INPUT)
    except (RenderError, FinishError, OSError) as exc:
        return fail(PROG, f"import failed, the render is unchanged: {exc}", EXIT_FAILED)
    for line in notes:
        note(PROG, line)
    if imported or dropped:
        write_outputs(manifest)
    print(summary_text(metrics_frame(manifest)))
    print(
        f"\n{method}: {imported} passage(s) imported, {current} up to date"
        + (f", {dropped} no longer given removed" if dropped else "")
        + f" in {time.perf_counter() - started:.1f} s\nmanifest: {manifest.root / 'manifest.json'}"
    )
    return EXIT_OK
