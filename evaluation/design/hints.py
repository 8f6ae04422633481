"""What a design error about a condition tells the user to do: a fix that works as written.

A test config may name a condition its render lacks. Three different mistakes look alike:

- a typo (``consol``) or an outside system not imported yet: nothing can render that name,
  so the fix is the config (with the closest name the render or the project knows), or
  ``python -m dmc.render import``;
- a built-in method that does not mix the task (``demucs`` on ``full``), or one of the
  emulation table's (``tcn10``): the config again;
- a built-in method the render left out (``console_dsp``, the anchors): the render command
  that makes this render again with that method added, i.e. with the render's own data,
  tasks, passages, length, loudness, seed, checkpoints and folder read from its manifest,
  since a render replaces the tasks and methods it is not given.

The method registry is imported on this error path only: it loads the models' code,
which a design that builds never needs.
"""

from __future__ import annotations

import difflib
import shlex
from pathlib import Path

from dmc.contracts.conditions import ANCHORS, EMULATION_METHODS
from dmc.contracts.manifest import (
    DEFAULT_DATA,
    DEFAULT_PASSAGE_SECONDS,
    DEFAULT_SEED,
    DEFAULT_SPLIT,
    RENDER_COMMAND,
    Manifest,
    default_render_dir,
)
from dmc.contracts.policies import DEFAULT_TARGET_LUFS

# An option at the render's default (dmc.contracts.manifest) is left out of a suggested command.
BOTH_TASKS = ("drums", "full")
#: Where shipped checkpoints are recorded in a manifest (``dmc.render.naming.display_path``).
SHIPPED_CHECKPOINTS = "dmc/checkpoints"


def condition_hint(method: str, task: str, manifest: Manifest) -> str:
    """The fix for a condition ``method`` the config names for ``task`` and the render lacks."""
    from dmc.mixers.registry import REGISTRY

    spec = REGISTRY.get(method)
    if method in EMULATION_METHODS:
        return (
            f"{method} is a condition of the emulation table (`python -m dmc.render transform`), "
            "which a test set has not: leave it out, or design the test on that render "
            "(--manifest renders/transform)"
        )
    if spec is None:
        known = sorted({m for t in manifest.tasks for m in manifest.methods(t)} | set(REGISTRY))
        close = difflib.get_close_matches(method, known, n=1, cutoff=0.75)
        if close:
            return f"did you mean {close[0]!r}? Fix the test config's conditions"
        return (
            "fix the test config's conditions, or, if it is an outside system, import its "
            f"mixes with `python -m dmc.render import --method {method} --from DIR "
            f"--out {_folder(manifest)}` (DIR: a file per passage or song)"
        )
    if task not in spec.tasks:
        return (
            f"{method} does not mix {task} songs (it serves {', '.join(spec.tasks)}): leave it "
            f"out of task {task}'s conditions"
        )
    command = render_command(manifest, method)
    if command is None:
        return "leave it out of the config's conditions"
    fix = (
        "or set anchors: false"
        if method in ANCHORS
        else "or leave it out of the config's conditions"
    )
    missing = spec.unavailable(task, _checkpoint_folder(manifest))
    first = f"{missing}; then " if missing else ""
    return f"{first}add it to this render with `{command}` ({fix})"


def render_command(manifest: Manifest, method: str) -> str | None:
    """``python -m dmc.render testset ...`` that renders ``manifest``'s render again with
    ``method`` added (reusing what is up to date), or None for a render that is no test
    set (the emulation table)."""
    settings = manifest.settings
    tasks = list(manifest.tasks)
    if "data" not in settings or not tasks or not set(tasks) <= set(BOTH_TASKS):
        return None
    parts = shlex.split(RENDER_COMMAND)
    data = settings["data"]
    if data != DEFAULT_DATA:
        parts += ["--data", data]
    if settings.get("root"):
        parts += ["--root", str(settings["root"])]
    if settings.get("split", DEFAULT_SPLIT) != DEFAULT_SPLIT:
        parts += ["--split", settings["split"]]
    if tuple(tasks) != BOTH_TASKS:
        parts += ["--task", ",".join(tasks)]
    rendered = [m for t in tasks for m in manifest.methods(t) if _renderable(m)]
    added = [] if method in ANCHORS else [method]
    parts += ["--methods", ",".join(dict.fromkeys([*rendered, *added]))]
    if settings.get("anchors") or method in ANCHORS:
        parts.append("--anchors")
    parts += _passages(manifest, settings)
    seconds = float(settings.get("seconds", DEFAULT_PASSAGE_SECONDS))
    if seconds != DEFAULT_PASSAGE_SECONDS:
        parts += ["--seconds", f"{seconds:g}"]
    if manifest.loudness.target_lufs != DEFAULT_TARGET_LUFS:
        parts += ["--lufs", f"{manifest.loudness.target_lufs:g}"]
    seed = next(iter(manifest.seeds.values()), DEFAULT_SEED)
    if seed != DEFAULT_SEED:
        parts += ["--seed", str(seed)]
    checkpoints = _checkpoint_folder(manifest)
    if checkpoints is not None:
        parts += ["--checkpoints", checkpoints]
    if manifest.root is not None and manifest.root.resolve() != default_render_dir().resolve():
        parts += ["--out", _folder(manifest)]
    return shlex.join(parts)


def _renderable(method: str) -> bool:
    """A method ``testset --methods`` takes (imported systems are kept by a render as they
    are; anchors come with ``--anchors``)."""
    from dmc.mixers.registry import REGISTRY

    return method in REGISTRY and method not in ANCHORS


def _passages(manifest: Manifest, settings: dict) -> list[str]:
    """``--passages`` as the render was given it; a manifest older than that record lists
    its songs (the same passages, found again from the same songs and length)."""
    if "passages" in settings:
        return [] if settings["passages"] is None else ["--passages", str(settings["passages"])]
    songs = dict.fromkeys(p.song_id for t in manifest.tasks for p in manifest.passages(t))
    return ["--passages", ",".join(songs)]


def _checkpoint_folder(manifest: Manifest) -> str | None:
    """The ``--checkpoints`` folder the render's models came from; None for the shipped ones."""
    folders = {str(Path(entry["path"]).parent) for entry in manifest.checkpoints.values()}
    others = sorted(folders - {SHIPPED_CHECKPOINTS})
    if not others:
        return None
    import dmc

    package_parent = Path(dmc.__file__).resolve().parents[1]  # display_path's base
    return str(package_parent / others[0]) if not Path(others[0]).is_absolute() else others[0]


def _folder(manifest: Manifest) -> str:
    """The render's folder as the user may type it: relative to here when below it."""
    root = (manifest.root or default_render_dir()).resolve()
    try:
        return str(root.relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(root)
