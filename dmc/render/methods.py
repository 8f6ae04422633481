"""The mixing methods a test set is rendered with: name -> how to build it, per task.

One table answers every question the renderer asks about a method: which tasks it
serves, whether it mixes the tracks or derives from the target, which checkpoint it
loads (hashed into the manifest), whether it is seeded per passage, whether it is
rendered by default, and -- before anything is rendered -- why it cannot run here
(a missing loader or checkpoint), in one line a user can act on.

Methods: ``console`` (the trained console, ``dmc.apply.load_console``), ``mono`` and
``random`` (``dmc.baselines``), ``demucs`` (drums only, ``dmc.apply.load_demucs``:
rendered by default as soon as its loader and checkpoint exist), ``target`` and the
optional BS.1534-3 anchors ``anchor_3k5`` / ``anchor_7k`` (``dmc.anchors``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dmc.anchors import ANCHOR_CUTOFFS_HZ, ReferenceCondition
from dmc.baselines import MonoMixer, RandomMixer
from dmc.effects.params import TASKS
from dmc.pretrained import CHECKPOINT_DIR

#: ``default`` values: rendered unless ``--methods`` says otherwise; rendered by default
#: only once available (skipped with a note until then); only when asked for (anchors).
ALWAYS, WHEN_AVAILABLE, ON_REQUEST = "always", "when_available", "on_request"


class MethodError(ValueError):
    """A method name is unknown, does not fit the task, or cannot run here; one-line message."""


@dataclass(frozen=True)
class BuildRequest:
    """What a factory gets: the task, the passage's seed (seeded methods), device and checkpoint."""

    task: str
    seed: int | None = None
    device: str | None = None
    checkpoint: Path | None = None


@dataclass(frozen=True)
class MethodSpec:
    """How to build one method.

    Args:
        name: as in manifests and ratings (``dmc.contracts.manifest.METHODS``).
        tasks: tasks it serves.
        source: ``tracks`` (a :class:`dmc.apply.Mixer`: staged tracks in) or ``target``
            (a :class:`dmc.anchors.ReferenceCondition`: the target mix in).
        build: factory ``BuildRequest -> mixer``.
        default: :data:`ALWAYS`, :data:`WHEN_AVAILABLE` or :data:`ON_REQUEST`.
        checkpoint: ``task -> file name`` of the checkpoint it loads, if any (looked up in
            the checkpoint folder: :data:`CHECKPOINT_DIR` unless another is given).
        seeded: build one instance per passage with the passage's seed.
        needs: ``(module, attribute)`` that must be importable for the method to run.
        hint: how to make a missing checkpoint, shown in the error (``{task}`` and ``{path}``
            are filled in).
        arrange: ``(tracks, roles) -> tracks`` laying the staged tracks out as the method
            expects (the fixed eight drum slots of demucs); None passes them unchanged.
    """

    name: str
    tasks: tuple[str, ...]
    source: str
    build: Callable[[BuildRequest], Any]
    default: str = ALWAYS
    checkpoint: Callable[[str], str] | None = None
    seeded: bool = False
    needs: tuple[str, str] | None = None
    hint: str = ""
    arrange: Callable[[np.ndarray, list[str]], np.ndarray] | None = None

    def checkpoint_path(self, task: str, folder: str | Path | None = None) -> Path | None:
        if self.checkpoint is None:
            return None
        return Path(folder if folder is not None else CHECKPOINT_DIR) / self.checkpoint(task)

    def inputs(self, tracks: np.ndarray, roles: list[str]) -> np.ndarray:
        """The tracks as this method takes them; raises ValueError for tracks it cannot take."""
        return tracks if self.arrange is None else self.arrange(tracks, roles)

    def check_roles(self, roles: list[str]) -> None:
        """Raise ValueError if a song with tracks of these roles cannot be mixed by this method."""
        self.inputs(np.zeros((len(roles), 0), dtype=np.float32), roles)

    def unavailable(self, task: str, checkpoint_dir: str | Path | None = None) -> str | None:
        """Why this method cannot run for ``task`` here, or None if it can."""
        if task not in self.tasks:
            return f"method {self.name!r} does not serve task {task!r} (it serves {', '.join(self.tasks)})"
        if self.needs is not None:
            module, attribute = self.needs
            try:
                found = hasattr(importlib.import_module(module), attribute)
            except ImportError:
                found = False
            if not found:
                return f"method {self.name!r} needs {module}.{attribute}, which this installation does not have yet"
        path = self.checkpoint_path(task, checkpoint_dir)
        if path is not None and not path.is_file():
            hint = f" ({self.hint.format(task=task, path=path)})" if self.hint else ""
            return f"method {self.name!r} needs the checkpoint {path}, which does not exist{hint}"
        return None


def _console(request: BuildRequest):
    from dmc.apply import load_console

    return load_console(request.task, checkpoint=request.checkpoint, device=request.device)


def _demucs(request: BuildRequest):
    from dmc.apply import load_demucs

    return load_demucs(checkpoint=request.checkpoint, device=request.device)


def _drum_slots(tracks: np.ndarray, roles: list[str]) -> np.ndarray:
    from dmc.nn.demucs import arrange_drum_tracks

    return arrange_drum_tracks(tracks, roles)


def _random(request: BuildRequest):
    if request.seed is None:
        raise MethodError("method 'random' needs a seed")
    return RandomMixer(request.task, request.seed)


REGISTRY: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "console",
            TASKS,
            "tracks",
            _console,
            checkpoint=lambda task: f"console_{task}.pt",
            needs=("dmc.apply", "load_console"),
            hint="make it with `python -m dmc.train console --task {task} --export {path}`",
        ),
        MethodSpec("mono", TASKS, "tracks", lambda r: MonoMixer(r.task)),
        MethodSpec("random", TASKS, "tracks", _random, seeded=True),
        MethodSpec(
            "demucs",
            ("drums",),
            "tracks",
            _demucs,
            default=WHEN_AVAILABLE,
            checkpoint=lambda task: "demucs_drums.pt",
            needs=("dmc.apply", "load_demucs"),
            hint="make it with `python -m dmc.train demucs --export {path}`",
            arrange=_drum_slots,
        ),
        MethodSpec("target", TASKS, "target", lambda r: ReferenceCondition("target")),
        *(
            MethodSpec(
                name,
                TASKS,
                "target",
                lambda r, name=name: ReferenceCondition(name),
                default=ON_REQUEST,
            )
            for name in ANCHOR_CUTOFFS_HZ
        ),
    )
}


def method_names(task: str | None = None) -> list[str]:
    """Every registered method, or those serving ``task``."""
    return [name for name, spec in REGISTRY.items() if task is None or task in spec.tasks]


def get_method(name: str, registry: dict[str, MethodSpec] | None = None) -> MethodSpec:
    registry = REGISTRY if registry is None else registry
    try:
        return registry[name]
    except KeyError:
        raise MethodError(f"unknown method {name!r}; choose from {', '.join(registry)}") from None


def resolve_methods(
    task: str,
    names: list[str] | None = None,
    anchors: bool = False,
    registry: dict[str, MethodSpec] | None = None,
    checkpoint_dir: str | Path | None = None,
) -> tuple[list[MethodSpec], list[str]]:
    """The methods to render for ``task``, checked to be able to run here.

    Args:
        names: methods asked for by name; None means the defaults (``always`` methods,
            ``when_available`` ones that can run, and anchors when ``anchors``).
        anchors: add the anchors to the asked-for or default methods.
        checkpoint_dir: folder of the checkpoints (default :data:`CHECKPOINT_DIR`).

    Returns:
        ``(specs, notes)``: the methods in registry order, and one line per default
        method left out because it cannot run yet.

    Raises:
        MethodError: an unknown name, a method that does not serve the task, or one
            that cannot run (missing loader or checkpoint).
    """
    registry = REGISTRY if registry is None else registry
    if task not in TASKS:
        raise MethodError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    notes: list[str] = []
    if names is None:
        wanted = []
        for spec in registry.values():
            if task not in spec.tasks or spec.default == ON_REQUEST:
                continue
            if spec.default == WHEN_AVAILABLE and (
                reason := spec.unavailable(task, checkpoint_dir)
            ):
                notes.append(f"{reason}; leaving it out")
                continue
            wanted.append(spec.name)
    else:
        wanted = list(dict.fromkeys(names))
    if anchors:
        wanted += [name for name in ANCHOR_CUTOFFS_HZ if name in registry and name not in wanted]
    specs = [get_method(name, registry) for name in wanted]
    for spec in specs:
        if reason := spec.unavailable(task, checkpoint_dir):
            raise MethodError(reason)
    order = list(registry)
    return sorted(specs, key=lambda s: order.index(s.name)), notes


def build_method(
    spec: MethodSpec,
    task: str,
    seed: int | None = None,
    device: str | None = None,
    checkpoint_dir: str | Path | None = None,
):
    """Instantiate ``spec`` for ``task`` (a Mixer, or a ReferenceCondition for target sources)."""
    checkpoint = spec.checkpoint_path(task, checkpoint_dir)
    return spec.build(BuildRequest(task=task, seed=seed, device=device, checkpoint=checkpoint))
