"""Every method a test can be rendered with: name -> how to build it, per task.

The one table the renderer and ``python -m dmc.train evaluate`` ask about a method: which
tasks it serves, whether it mixes the tracks or derives from the target, which checkpoint
it loads (hashed into the manifest), whether it is seeded per passage, whether it is
rendered by default, and -- before anything is rendered -- why it cannot run here (a
missing checkpoint), in one line a user can act on.

Each method family declares its :class:`dmc.mixers.spec.MethodSpec` s beside its mixer
(``METHODS`` in :mod:`dmc.mixers.console`, :mod:`dmc.mixers.baselines`,
:mod:`dmc.mixers.demucs`, :mod:`dmc.mixers.references`); what a method *is* (its
description, display order, roles) is :data:`dmc.contracts.conditions.METHODS`.
"""

from __future__ import annotations

from pathlib import Path

from dmc.contracts.conditions import ANCHORS, BUILT_IN_METHODS
from dmc.effects.params import TASKS
from dmc.mixers import baselines, console, demucs, references
from dmc.mixers.spec import ON_REQUEST, WHEN_AVAILABLE, BuildRequest, MethodError, MethodSpec

#: Name -> build recipe, in the order a passage's conditions are rendered and listed.
REGISTRY: dict[str, MethodSpec] = {
    spec.name: spec
    for family in (console, baselines, demucs, references)
    for spec in family.METHODS
}
_UNKNOWN = set(REGISTRY) - set(BUILT_IN_METHODS)
if _UNKNOWN:  # pragma: no cover - a new method needs its row in dmc.contracts.conditions
    raise RuntimeError(f"methods without a row in dmc.contracts.conditions: {sorted(_UNKNOWN)}")


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
            if task not in spec.tasks or spec.default_for(task) == ON_REQUEST:
                continue
            if spec.default_for(task) == WHEN_AVAILABLE and (
                reason := spec.unavailable(task, checkpoint_dir)
            ):
                notes.append(f"{reason}; leaving it out")
                continue
            wanted.append(spec.name)
    else:
        wanted = list(dict.fromkeys(names))
    if anchors:
        wanted += [name for name in ANCHORS if name in registry and name not in wanted]
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
